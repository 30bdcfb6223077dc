import Foundation
public import NIOSSL
public import Settings

/// TLS for the model service: Hummingbird's server `TLSConfiguration` from PEM files.
///
/// Use it as `server: try .tls(.http1(), tlsConfiguration: configuration)` (HummingbirdTLS).
public enum ServingTLS {
    /// Builds the server configuration from a certificate chain and its private key.
    ///
    /// The key file must not be readable by every user; the pair is checked by building an SSL context, so a key that
    /// does not belong to the certificate fails here, before the service listens.
    /// - Parameters:
    ///   - certificateFile: PEM certificate chain, leaf first.
    ///   - keyFile: PEM private key of the leaf.
    /// - Returns: the configuration.
    /// - Throws: ``ServingAuthError`` `unreadable`, `worldReadable` (the key), `invalidPEM` naming the file,
    ///   `configuration` (a key that does not match the certificate).
    public static func makeServerConfiguration(
        certificateFile: String, keyFile: String
    ) throws(ServingAuthError) -> TLSConfiguration {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw pemError(certificateFile, what: "certificate")
        }
        guard !certificates.isEmpty else {
            throw ServingAuthError(.invalidPEM, place: certificateFile, reason: "holds no PEM certificate")
        }
        try ServingSecretFile.requireNotWorldReadable(keyFile, what: "TLS private key")
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw pemError(keyFile, what: "private key")
        }
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key))
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ServingAuthError(
                .configuration, place: keyFile,
                reason: "the private key does not belong to the certificate in \(certificateFile)")
        }
        return configuration
    }

    /// The server configuration that `SONARLAB_SERVE_TLS_CERT_FILE` / `_KEY_FILE` name, or `nil` for plain HTTP.
    /// - Parameter environment: the service's access environment.
    /// - Returns: the configuration, or `nil` when TLS is not configured.
    /// - Throws: as ``makeServerConfiguration(certificateFile:keyFile:)``.
    public static func makeServerConfiguration(
        environment: ServeAccessEnvironment
    ) throws(ServingAuthError) -> TLSConfiguration? {
        guard let certificateFile = environment.tlsCertificateFile, let keyFile = environment.tlsKeyFile else {
            return nil
        }
        return try makeServerConfiguration(certificateFile: certificateFile, keyFile: keyFile)
    }

    private static func pemError(_ file: String, what: String) -> ServingAuthError {
        var info = stat()
        if stat(file, &info) != 0 {
            return ServingAuthError(.unreadable, place: file, reason: "cannot read the TLS \(what) (no such file?)")
        }
        return ServingAuthError(.invalidPEM, place: file, reason: "not a PEM \(what)")
    }
}
