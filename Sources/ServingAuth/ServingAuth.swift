// ServingAuth: who may call the model service (`sonarlab serve`), and TLS for it.
//
// What it does: `CallerAccessMiddleware` authenticates each request of a route group — bearer tokens (RFC 6750)
// from a tokens file of SHA-256 digests compared in constant time, or Kerberos SPNEGO (RFC 4559) with the service
// keytab through `Kerberos.SPNEGOAcceptor` — stores the caller (token name or client principal) in the request
// context, and checks the group's allow-list (401 with `WWW-Authenticate`, 403 naming the group). `ServingTLS` builds
// Hummingbird's TLS server configuration from PEM files. Health and metadata routes get no middleware and stay open.
//
// May import: Hummingbird, HummingbirdTLS (NIOSSL), Kerberos, Settings (types only), Crypto, NIOPosix (the blocking
// pool for GSS calls), Logging. Independent of the Serving module: any `RequestContext` that adopts
// `CallerIdentifiedContext` can use it. Start at `ServingAccessPolicy`.
//
// Wiring (in the service):
//   let access = try ServingAccessPolicy(
//       settings: configuration.serveAccess, environment: try ServeAccessEnvironment(environment: environment))
//   inferGroup.add(middleware: access.middleware(for: .infer))    // V2 …/infer, /invocations
//   adminGroup.add(middleware: access.middleware(for: .admin))    // POST /v2/repository/models/{name}/load
//   let server: HTTPServerBuilder = try ServingTLS.makeServerConfiguration(environment: accessEnvironment)
//       .map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1()
public import Hummingbird

/// A request context that carries the authenticated caller.
///
/// The Serving module's `ServingRequestContext` adopts it; ``CallerAccessMiddleware`` sets ``caller`` before the
/// handler runs, so handlers can record who asked.
public protocol CallerIdentifiedContext: RequestContext {
    /// The caller: a token name (bearer), a client principal such as `alice@REALM` (kerberos), or `nil` when
    /// authentication is off.
    var caller: String? { get set }
}

/// A group of routes that shares one allow-list.
public enum ServingRouteGroup: String, Sendable, CaseIterable, CustomStringConvertible {
    /// V2 `…/infer` and MLflow's `/invocations` (`[serve] allow_infer`).
    case infer
    /// `POST /v2/repository/models/{name}/load` (`[serve] allow_admin`).
    case admin

    /// The group's name, as in messages.
    public var description: String { rawValue }

    /// The config key of the group's allow-list.
    public var allowListKey: String { "allow_\(rawValue)" }
}

/// A failure to set up the service's access or TLS.
///
/// Messages name the file (and line) or variable, never a token or key.
public struct ServingAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem; errors compare equal by code.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate let name: String
        public var description: String { name }
        /// A file (tokens, certificate, key, keytab) is missing or cannot be read.
        public static let unreadable = Code(name: "unreadable")
        /// A secret file (tokens, private key) can be read by every user of the machine.
        public static let worldReadable = Code(name: "worldReadable")
        /// A line of the tokens file is not `name:sha256-hex`, or repeats a name.
        public static let syntax = Code(name: "syntax")
        /// A certificate or private key file holds no valid PEM.
        public static let invalidPEM = Code(name: "invalidPEM")
        /// Settings that do not fit together: bearer without a tokens file, allow-lists without auth, and so on.
        public static let configuration = Code(name: "configuration")
    }

    /// The kind of problem.
    public let code: Code
    /// Where: `file:line`, a file, or `environment NAME` / `[serve] key`.
    public let place: String
    /// What is wrong; never a token, a digest or a key.
    public let reason: String

    /// Creates an error.
    public init(_ code: Code, place: String, reason: String) {
        self.code = code
        self.place = place
        self.reason = reason
    }

    public var description: String { "\(place): \(reason)" }

    public static func == (lhs: ServingAuthError, rhs: ServingAuthError) -> Bool { lhs.code == rhs.code }
}
