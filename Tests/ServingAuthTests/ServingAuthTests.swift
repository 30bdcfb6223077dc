import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InMemoryLogging
import Kerberos
import Logging
import NIOCore
import Settings
import SonarLabTestSupport
import Testing

@testable import ServingAuth

/// A request context like the Serving module's: it carries the caller.
struct CallerContext: CallerIdentifiedContext {
    var coreContext: CoreRequestContextStorage
    var caller: String?
    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// A tiny router shaped like the service's: open health, an infer group and an admin group, each handler answering
/// with the caller it saw.
func makeApplication(_ policy: ServingAccessPolicy, logger: Logger? = nil) -> some ApplicationProtocol {
    let router = Router(context: CallerContext.self)
    router.get("/v2/health/ready") { _, _ in "ready" }
    router.group("/v2/models").add(middleware: policy.middleware(for: .infer))
        .post("/sonar/infer") { _, context in context.caller ?? "anonymous" }
    router.group("/v2/repository").add(middleware: policy.middleware(for: .admin))
        .post("/models/sonar/load") { _, context in context.caller ?? "anonymous" }
    return Application(
        router: router, logger: logger ?? Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
}

func sha256Hex(_ text: String) -> String {
    SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
}

/// A temporary file with `text` and POSIX `mode`; removed by the caller.
func temporaryFile(_ text: String, mode: Int = 0o600, name: String = "tokens") throws -> String {
    let path = NSTemporaryDirectory() + "sonarlab-auth-\(UUID().uuidString.prefix(8))-\(name)"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    return path
}

func bodyText(_ response: TestResponse) -> String { String(buffer: response.body) }

func errorMessage(_ response: TestResponse) throws -> String {
    let object = try JSONDecoder().decode([String: String].self, from: Data(bodyText(response).utf8))
    return try #require(object["error"])
}

let aliceToken = "alice-token-5f1c2e"
let batchToken = "batch-token-77aa10"
let opsToken = "ops-token-0b9d44"

func bearerPolicy(allowInfer: [String] = [], allowAdmin: [String] = []) throws -> ServingAccessPolicy {
    let text = """
        # name:sha256-hex
        alice:\(sha256Hex(aliceToken))
        svc-batch:\(sha256Hex(batchToken).uppercased())

        ops:\(sha256Hex(opsToken))
        """
    let tokens = try BearerTokenTable(text: text, file: "tokens")
    return ServingAccessPolicy(authenticator: .bearer(tokens), allowInfer: allowInfer, allowAdmin: allowAdmin)
}

func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

@Suite("Callers' bearer tokens and allow-lists")
struct BearerAccessTests {
    @Test(
        "without a token the infer routes answer 401 with WWW-Authenticate: Bearer, and health stays open",
        arguments: [("router", TestingSetup.router), ("live", TestingSetup.live)])
    func missingToken(name: String, setup: TestingSetup) async throws {
        try await makeApplication(try bearerPolicy()).test(setup) { client in
            try await client.execute(uri: "/v2/models/sonar/infer", method: .post) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
                let message = try errorMessage(response)
                #expect(message.contains("Authorization: Bearer"))
            }
            try await client.execute(uri: "/v2/repository/models/sonar/load", method: .post) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/v2/health/ready", method: .get) { response in
                #expect(response.status == .ok)
                #expect(bodyText(response) == "ready")
            }
        }
    }

    @Test("a wrong token, another scheme or an empty credential is 401, and the body never echoes what was sent")
    func wrongToken() async throws {
        let sent = [
            "Bearer not-a-known-token-123", "Basic YWxpY2U6cHc=", "Bearer", "Bearer  ", "bearer \(aliceToken)x",
        ]
        try await makeApplication(try bearerPolicy()).test(.router) { client in
            for header in sent {
                try await client.execute(
                    uri: "/v2/models/sonar/infer", method: .post, headers: [.authorization: header]
                ) { response in
                    #expect(response.status == .unauthorized, "\(header)")
                    #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                    let credential = header.split(separator: " ").dropFirst().joined()
                    if !credential.isEmpty { #expect(!bodyText(response).contains(credential)) }
                }
            }
            try await client.execute(uri: "/v2/models/sonar/infer", method: .post, headers: bearer("nope")) {
                #expect($0.headers[.wwwAuthenticate] == "Bearer error=\"invalid_token\"")
            }
        }
    }

    @Test("a known token reaches the handler with its name as the caller; the scheme is case-insensitive")
    func knownToken() async throws {
        try await makeApplication(try bearerPolicy()).test(.router) { client in
            try await client.execute(uri: "/v2/models/sonar/infer", method: .post, headers: bearer(aliceToken)) {
                #expect($0.status == .ok)
                #expect(bodyText($0) == "alice")
            }
            try await client.execute(
                uri: "/v2/models/sonar/infer", method: .post, headers: [.authorization: "bEaReR \(batchToken)"]
            ) {
                #expect(bodyText($0) == "svc-batch", "an upper-case digest in the file matches too")
            }
        }
    }

    @Test(
        "each group's allow-list admits its names only; the 403 names the group and the caller, not the token",
        arguments: [("router", TestingSetup.router), ("live", TestingSetup.live)])
    func allowLists(name: String, setup: TestingSetup) async throws {
        let policy = try bearerPolicy(allowInfer: ["alice", "svc-batch"], allowAdmin: ["ops"])
        try await makeApplication(policy).test(setup) { client in
            for (token, name) in [(aliceToken, "alice"), (batchToken, "svc-batch")] {
                try await client.execute(uri: "/v2/models/sonar/infer", method: .post, headers: bearer(token)) {
                    #expect($0.status == .ok)
                    #expect(bodyText($0) == name)
                }
                try await client.execute(
                    uri: "/v2/repository/models/sonar/load", method: .post, headers: bearer(token)
                ) { response in
                    #expect(response.status == .forbidden)
                    #expect(response.headers[.contentType] == "application/json")
                    let message = try errorMessage(response)
                    #expect(message.contains("admin") && message.contains(name) && message.contains("allow_admin"))
                    #expect(!message.contains(token))
                }
            }
            try await client.execute(uri: "/v2/models/sonar/infer", method: .post, headers: bearer(opsToken)) {
                response in
                #expect(response.status == .forbidden)
                let message = try errorMessage(response)
                #expect(message.contains("infer"))
            }
            try await client.execute(uri: "/v2/repository/models/sonar/load", method: .post, headers: bearer(opsToken))
            {
                #expect($0.status == .ok)
                #expect(bodyText($0) == "ops")
            }
        }
    }

    @Test("refusals are logged with the group and reason, and no token ever reaches the log")
    func logging() async throws {
        let logging = InMemoryLogHandler()
        let logger = Logger(label: "serve", factory: { _ in logging })
        let policy = try bearerPolicy(allowInfer: ["alice"])
        try await makeApplication(policy, logger: logger).test(.router) { client in
            for token in [batchToken, "guess-\(aliceToken)", aliceToken] {
                try await client.execute(uri: "/v2/models/sonar/infer", method: .post, headers: bearer(token)) { _ in }
            }
        }
        let text = logging.entries.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        #expect(text.contains("unknown bearer token"))
        #expect(text.contains("svc-batch") && text.contains("403"))
        for token in [batchToken, aliceToken] { #expect(!text.contains(token)) }
    }
}

@Suite("Callers with auth = none")
struct NoAuthTests {
    @Test("with auth = none every route is open and the caller is nil")
    func open() async throws {
        try await makeApplication(ServingAccessPolicy(authenticator: .none)).test(.router) { client in
            for uri in ["/v2/models/sonar/infer", "/v2/repository/models/sonar/load"] {
                try await client.execute(uri: uri, method: .post, headers: bearer("anything")) {
                    #expect($0.status == .ok)
                    #expect(bodyText($0) == "anonymous")
                }
            }
        }
    }

    @Test("an allow-list with auth = none is refused when the policy is built, naming the key")
    func allowListNeedsAuth() throws {
        var settings = SonarLabConfiguration.ServeAccessSettings()
        settings.allowAdmin = ["ops"]
        let environment = try ServeAccessEnvironment(environment: [:])
        #expect(throws: ServingAuthError(.configuration, place: "", reason: "")) {
            try ServingAccessPolicy(settings: settings, environment: environment)
        }
        let refusal = #expect(throws: ServingAuthError.self) {
            try ServingAccessPolicy(settings: settings, environment: environment)
        }
        #expect(refusal?.place == "[serve] allow_admin")
        settings.allowAdmin = []
        #expect(try ServingAccessPolicy(settings: settings, environment: environment).allowInfer.isEmpty)
    }
}
