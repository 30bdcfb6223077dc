// hbase-rest-double: the HBase REST test double as a process (test support only).
//
//   hbase-rest-double --host ADDRESS --port N --auth none [--data-dir DIR]
//
// Port 0 picks a free port. Once bound it prints one line `listening HOST:PORT` on stdout.
// SIGTERM / SIGINT stop it gracefully. The security issue adds `--auth kerberos --keytab FILE
// --grants FILE --tls-cert FILE --tls-key FILE` behind HBaseDoubleSecurity.
import Foundation
import HBaseRESTDouble
import Logging
import ServiceLifecycle
import UnixSignals

func usage(_ message: String) -> Never {
    FileHandle.standardError.write(
        Data(
            "hbase-rest-double: \(message)\nusage: hbase-rest-double --host ADDRESS --port N --auth none [--data-dir DIR]\n"
                .utf8))
    exit(64)
}

var host: String?
var port: Int?
var auth: String?
var dataDirectory: String?
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
    case "--help", "-h": usage("help")
    default: usage("unknown argument \(argument)")
    }
}
guard let host else { usage("--host is required") }
guard let port else { usage("--port is required") }
guard let auth else { usage("--auth is required") }
guard auth == "none" else { usage("--auth \(auth) is not supported yet (only none)") }

var logger = Logger(label: "hbase-rest-double")
logger.logLevel = .warning
let configuration = HBaseRESTDoubleConfiguration(host: host, port: port, dataDirectory: dataDirectory)
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
