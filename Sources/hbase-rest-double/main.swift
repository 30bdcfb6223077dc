// hbase-rest-double: the HBase REST test double as a process (test support only).
//
//   hbase-rest-double --host ADDRESS --port N --auth none|kerberos|basic [--data-dir DIR]
//       [--keytab FILE] [--users FILE] [--grants FILE] [--tls-cert FILE --tls-key FILE]
//       [--cookie-validity SECONDS]
//
// Port 0 picks a free port. Once bound it prints one line `listening HOST:PORT` on stdout.
// SIGTERM / SIGINT stop it gracefully. `--auth kerberos` accepts SPNEGO with the service keytab
// (HTTP/host@REALM); `--auth basic` checks `user:password` lines of `--users`; both apply the
// `--grants` file (HBase shell `grant` lines). `--tls-cert`/`--tls-key` (PEM) serve https.
import Foundation
import HBaseRESTDouble
import Logging
import ServiceLifecycle
import UnixSignals

func usage(_ message: String) -> Never {
    FileHandle.standardError.write(
        Data(
            "hbase-rest-double: \(message)\nusage: hbase-rest-double --host ADDRESS --port N --auth none|kerberos|basic [--data-dir DIR] [--keytab FILE] [--users FILE] [--grants FILE] [--tls-cert FILE --tls-key FILE] [--cookie-validity SECONDS]\n"
                .utf8))
    exit(64)
}

var host: String?
var port: Int?
var auth: String?
var dataDirectory: String?
var keytab: String?
var usersFile: String?
var grantsFile: String?
var tlsCert: String?
var tlsKey: String?
var cookieValidity: TimeInterval = 36000
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    func value() -> String {
        guard let next = arguments.popFirst() else { usage("\(argument) needs a value") }
        return next
    }
    switch argument {
    case "--host": host = value()
    case "--port":
        guard let parsed = Int(value()), (0...65535).contains(parsed) else { usage("--port must be 0...65535") }
        port = parsed
    case "--auth": auth = value()
    case "--data-dir": dataDirectory = value()
    case "--keytab": keytab = value()
    case "--users": usersFile = value()
    case "--grants": grantsFile = value()
    case "--tls-cert": tlsCert = value()
    case "--tls-key": tlsKey = value()
    case "--cookie-validity":
        // hadoop-auth's token.validity: how long the hadoop.auth session cookie is honoured (0: never reused).
        guard let seconds = TimeInterval(value()), seconds >= 0 else { usage("--cookie-validity must be seconds >= 0") }
        cookieValidity = seconds
    case "--help", "-h": usage("help")
    default: usage("unknown argument \(argument)")
    }
}
guard let host else { usage("--host is required") }
guard let port else { usage("--port is required") }
guard let auth else { usage("--auth is required") }
guard (tlsCert == nil) == (tlsKey == nil) else { usage("--tls-cert and --tls-key go together") }

func readFile(_ path: String, _ option: String) -> String {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { usage("cannot read \(option) file") }
    return text
}

let security: any HBaseDoubleSecurity
switch auth {
case "none":
    security = HBaseDoubleOpenSecurity()
case "kerberos", "basic":
    guard let grantsFile else { usage("--auth \(auth) needs --grants") }
    let grants: HBaseDoubleGrants
    do { grants = try HBaseDoubleGrants(parsing: readFile(grantsFile, "--grants")) } catch { usage("\(error)") }
    let authentication: HBaseDoubleSecuredGateway.Authentication
    if auth == "kerberos" {
        guard let keytab else { usage("--auth kerberos needs --keytab") }
        guard FileManager.default.isReadableFile(atPath: keytab) else { usage("cannot read --keytab file") }
        authentication = .kerberos(keytab: keytab)
    } else {
        guard let usersFile else { usage("--auth basic needs --users") }
        do {
            authentication = .basic(users: try HBaseDoubleSecuredGateway.parseUsers(readFile(usersFile, "--users")))
        } catch { usage("\(error)") }
    }
    security = HBaseDoubleSecuredGateway(
        authentication: authentication, grants: grants, secureCookie: tlsCert != nil, cookieValidity: cookieValidity)
default:
    usage("--auth must be none, kerberos or basic")
}

var logger = Logger(label: "hbase-rest-double")
logger.logLevel = .warning
let configuration = HBaseRESTDoubleConfiguration(
    host: host, port: port, dataDirectory: dataDirectory, security: security,
    tls: tlsCert.flatMap { cert in tlsKey.map { (certificateFile: cert, keyFile: $0) } })
do {
    let service = try HBaseRESTDouble.makeService(configuration: configuration, logger: logger) { bound in
        FileHandle.standardOutput.write(Data("listening \(host):\(bound)\n".utf8))
    }
    let group = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await group.run()
} catch {
    FileHandle.standardError.write(Data("hbase-rest-double: \(error)\n".utf8))
    exit(1)
}
