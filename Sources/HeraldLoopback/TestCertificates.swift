import Crypto
public import Foundation
public import NIOSSL
import SwiftASN1
import X509

/// A throwaway certificate authority and a server certificate it signed for `localhost` and
/// `127.0.0.1`, so loopback HTTPS servers in tests are verified exactly as real ones are: the client
/// trusts the CA through `--extra-ca-file` (`caFile`), nothing is switched off.
public struct TestCertificates: Sendable {
    public let caPEM: String
    public let caFile: String
    public let serverChain: [NIOSSLCertificate]
    public let serverKey: NIOSSLPrivateKey
    /// The server certificate and key as PEM files, for `herald serve --tls-cert --tls-key`.
    public let serverCertificateFile: String
    public let serverKeyFile: String

    public init(directory: URL) throws {
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("Herald Test CA") }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey), notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(86400), issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(caKey))
        let serverKey = P256.Signing.PrivateKey()
        let server = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(serverKey.publicKey), notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(86400), issuer: caName, subject: try DistinguishedName { CommonName("localhost") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
            },
            issuerPrivateKey: .init(caKey))
        caPEM = try ca.serializeAsPEM().pemString
        caFile = directory.appendingPathComponent("test-ca.pem").path
        try caPEM.write(toFile: caFile, atomically: true, encoding: .utf8)
        let serverPEM = try server.serializeAsPEM().pemString
        serverChain = [try NIOSSLCertificate(bytes: Array(serverPEM.utf8), format: .pem)]
        self.serverKey = try NIOSSLPrivateKey(bytes: Array(serverKey.pemRepresentation.utf8), format: .pem)
        serverCertificateFile = directory.appendingPathComponent("server.pem").path
        serverKeyFile = directory.appendingPathComponent("server-key.pem").path
        try serverPEM.write(toFile: serverCertificateFile, atomically: true, encoding: .utf8)
        try serverKey.pemRepresentation.write(toFile: serverKeyFile, atomically: true, encoding: .utf8)
    }

    /// A server TLS configuration with this certificate (ALPN is set by the HTTP/2 channel).
    public var serverTLS: TLSConfiguration {
        TLSConfiguration.makeServerConfiguration(certificateChain: serverChain.map { .certificate($0) }, privateKey: .privateKey(serverKey))
    }
}
