import Foundation
import Kerberos
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

extension HBaseClient {
    /// A certificate's validity period (X.509 `notBefore` / `notAfter`).
    struct CertificateValidity: Equatable, Sendable {
        /// The first moment the certificate is valid.
        var notBefore: Date
        /// The last moment the certificate is valid.
        var notAfter: Date

        /// Whether `date` lies outside the period.
        func excludes(_ date: Date) -> Bool { date < notBefore || date > notAfter }
    }

    /// After a failed TLS handshake: the gateway's certificate as an error that says why it was refused.
    ///
    /// A certificate outside its validity period is ``HBaseError/certificateNotValid`` naming both dates; any
    /// other failure is ``HBaseError/untrustedCertificate`` (wrong CA, wrong host name).
    func certificateError(context: Context) async -> HBaseError {
        let now = Date()
        if let validity = await Self.peerCertificateValidity(
            host: host, port: configuration.baseURL.port ?? 443, timeout: configuration.timeouts.connect),
            validity.excludes(now)
        {
            let utc = KerberosTicketCache.format
            let period = "valid from \(utc(validity.notBefore)) to \(utc(validity.notAfter))"
            let state = now < validity.notBefore ? "is not valid yet" : "has expired"
            return HBaseError.certificateNotValid.with(
                "\(context.summary): the HBase REST gateway's certificate \(state) (\(period); now \(utc(now))): "
                    + "renew it on the gateway, or check this host's clock")
        }
        return HBaseError.untrustedCertificate.with(
            "\(context.summary): TLS handshake with the HBase REST gateway failed: its certificate is not trusted or not issued for '\(host)' (a private CA goes in SONARLAB_HBASE_CA_FILE)"
        )
    }

    /// The validity period of the leaf certificate a TLS server presents, or `nil` when none could be read.
    ///
    /// Diagnosis only: the handshake stops in the verification callback, so nothing is ever sent over it.
    /// - Parameters:
    ///   - host: The server's host name or address (sent as SNI when it is a name).
    ///   - port: The TCP port.
    ///   - timeout: The longest wait for the certificate.
    /// - Returns: The leaf certificate's `notBefore` / `notAfter`.
    static func peerCertificateValidity(host: String, port: Int, timeout: Duration) async -> CertificateValidity? {
        guard let context = try? NIOSSLContext(configuration: .makeClientConfiguration()) else { return nil }
        let isAddress = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        let found = Mutex<CertificateValidity?>(nil)
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(timeAmount(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = try NIOSSLClientHandler(
                        context: context, serverHostname: isAddress ? nil : host,
                        customVerificationCallback: { certificates, promise in
                            if let leaf = certificates.first {
                                found.withLock {
                                    $0 = CertificateValidity(
                                        notBefore: Date(timeIntervalSince1970: TimeInterval(leaf.notValidBefore)),
                                        notAfter: Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter)))
                                }
                            }
                            promise.succeed(.failed)
                        })
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        guard let channel = try? await bootstrap.connect(host: host, port: port).get() else { return nil }
        let closing = channel.eventLoop.scheduleTask(in: timeAmount(timeout)) { channel.close(promise: nil) }
        try? await channel.closeFuture.get()
        closing.cancel()
        return found.withLock { $0 }
    }
}
