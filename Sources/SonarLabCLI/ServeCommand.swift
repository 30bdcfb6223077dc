import ArgumentParser
import Engine
import Foundation
import HBase
import HummingbirdCore
import HummingbirdTLS
import Logging
import Serving
import ServingAuth
import Settings
import Tracking

/// `sonarlab serve`: the model service (Open Inference Protocol V2 and MLflow scoring routes).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract:
            "Serve a model over HTTP (Open Inference Protocol V2 and MLflow scoring), recording every prediction.",
        discussion: """
            Loads and verifies the model first (a distribution zip's SHA-256 manifest is checked; an altered one is \
            refused with exit 2), then listens and prints the URL, the model name and its version (the training \
            experiment id). Address, port and limits come from [serve] in config.ini (flags > environment > \
            config.ini > defaults; `sonarlab config` lists them).

            Routes (docs/openapi.yaml describes each):
              GET  /v2/health/live, /v2/health/ready, /v2
              GET  /v2/models/sonar[/versions/ID][/ready]  input features FP32 [-1,60]
              POST /v2/models/sonar[/versions/ID]/infer    outputs label, p_mine
              POST /invocations          dataframe_split, dataframe_records,
                                         instances, inputs, or text/csv
              GET  /ping, /health, /version, /metrics
              POST /v2/repository/models/sonar/load        reload, as SIGHUP

            Example, with the service on its configured address (see `sonarlab config`):
              curl -s -H 'Content-Type: application/json' -d @request.json URL/v2/models/sonar/infer

            Every prediction is recorded before its answer is sent ([serve] record): hbase = kept in the durable \
            outbox (SQLite), then sent to the predictions table in the background with the configured HBase \
            authentication, so answers go on while HBase is away (`/metrics` shows the backlog); local = the \
            embedded SQLite store (predictions.sqlite in [tracking] dir); off = not recorded.

            Limits: [serve] max_body_bytes and max_rows (413 above either), max_concurrency (503 with Retry-After \
            above it), request_timeout (503 after it; nothing recorded). SIGTERM or SIGINT: stop accepting, finish \
            requests in flight, flush the outbox within [hbase] timeout_seconds, exit 0. SIGHUP reloads the model \
            (--model latest picks the newest finished run again); requests in flight finish on the old one.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions

    @Option(
        help: ArgumentHelp(
            "The model: a model.json, a distribution zip, a training run id, or latest (the default).",
            valueName: "path|zip|run-id|latest"))
    var model: String?

    @Option(help: ArgumentHelp("Address to listen on. [serve] host, default the loopback address", valueName: "host"))
    var host: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Port to listen on, 0 = any free port. [serve] port", valueName: "port"))
    var port: String?

    func run() async throws {
        var flags = store.flags
        if let host { flags["serve.host"] = FlagValue(flag: "--host", value: host) }
        if let port { flags["serve.port"] = FlagValue(flag: "--port", value: port) }
        let context = try CommandContext(global: global, flags: flags)
        let serve = context.configuration.serve
        var logger = context.logger
        logger.logLevel = global.verbose ? .debug : .notice
        let spec = model ?? "latest"
        // Callers' access and TLS are checked before the model loads and before anything listens: a bad tokens
        // file, keytab or certificate is a configuration error (exit 2).
        let (middlewares, server, scheme) = try Self.access(context)
        let first = try await context.loadServedModel(spec)
        let metrics = ServingMetrics()
        var client: HBaseClient?
        let recorder: any PredictionRecorder
        switch serve.record {
        case "hbase":
            let hbase = try context.makeHBaseClient()
            client = hbase
            let log = logger
            recorder = HBasePredictionRecorder(
                client: hbase, layout: context.hbaseLayout, writer: try context.makeHBaseWriter(client: hbase)
            ) { refusal in
                let reason: String
                switch refusal {
                case HBaseError.unauthorized, HBaseError.credentialsExpired, HBaseError.credentialsUnavailable:
                    reason = "unauthorized"
                case HBaseError.forbidden: reason = "forbidden"
                default: reason = "refused"
                }
                metrics.countDeliveryError(reason: reason)
                log.error("HBase refused the predictions' writes (they stay in the outbox): \(refusal.message)")
            }
        case "local":
            do {
                recorder = LocalPredictionRecorder(
                    store: try LocalPredictionStore(directory: context.configuration.tracking.directory))
            } catch {
                throw CommandFailure.failed(
                    "cannot open the local predictions store in \(context.configuration.tracking.directory): \(error)")
            }
        default:
            recorder = NoPredictionRecorder()
        }
        let loaderContext = context
        let holder = ModelHolder(model: first) { try await loaderContext.loadServedModel(spec) }
        let service = ModelService(
            configuration: ServingConfiguration(
                modelName: serve.modelName, maxBodyBytes: serve.maxBodyBytes, maxRows: serve.maxRows,
                maxConcurrency: serve.maxConcurrency,
                requestTimeout: .milliseconds(Int64(serve.requestTimeoutSeconds * 1000))),
            holder: holder, recorder: recorder, metrics: metrics, logger: logger)
        printText("model \(serve.modelName) version \(first.version) from \(first.source)")
        printText("recording predictions: \(recorder.description)")
        fflush(nil)
        let name = serve.modelName
        do {
            try await ServingServer.run(
                service: service, host: serve.host, port: serve.port, middlewares: middlewares, server: server,
                flushTimeout: .milliseconds(Int64(context.configuration.hbase.timeoutSeconds * 1000))
            ) { port in
                let shown = serve.host.contains(":") ? "[\(serve.host)]" : serve.host
                printText("listening on \(scheme)://\(shown):\(port) (POST /v2/models/\(name)/infer, /invocations)")
                fflush(nil)
            }
        } catch {
            try? await client?.shutdown()
            throw CommandFailure.failed("serve on \(serve.host) port \(serve.port): \(error)")
        }
        try? await client?.shutdown()
        printText("stopped")
    }
}

extension ServeCommand {
    /// The route groups' access middlewares (`[serve] auth`, allow-lists) and the HTTP server (TLS when
    /// `SONARLAB_SERVE_TLS_CERT_FILE` / `_KEY_FILE` are set).
    /// - Throws: ``CommandFailure`` (exit 2) naming the file, key or variable at fault.
    static func access(_ context: CommandContext) throws -> (ServingMiddlewares, HTTPServerBuilder, String) {
        do {
            let environment = try ServeAccessEnvironment(environment: context.environment)
            let policy = try ServingAccessPolicy(
                settings: context.configuration.serveAccess, environment: environment)
            let middlewares = ServingMiddlewares(
                infer: [policy.middleware(for: .infer)], admin: [policy.middleware(for: .admin)])
            guard let tls = try ServingTLS.makeServerConfiguration(environment: environment) else {
                return (middlewares, ServingServer.http1(), "http")
            }
            return (middlewares, try .tls(ServingServer.http1(), tlsConfiguration: tls), "https")
        } catch let error as ServingAuthError {
            throw CommandFailure.badInput("\(error)")
        }
    }
}

extension CommandContext {
    /// The model `spec` names, verified: a `model.json` or distribution zip path, a training run id, or `latest`
    /// (the newest finished training run of the configured store).
    /// - Throws: ``DataError`` for an unreadable, malformed or altered model; ``CommandFailure`` (exit 2) when the
    ///   spec is neither a file nor a known run.
    func loadServedModel(_ spec: String) async throws -> ServedModel {
        var path: String? = spec == "latest" ? nil : spec
        if let given = path, !FileManager.default.fileExists(atPath: given) {
            let run = try? await openStore().experiment(id: given)
            guard let run else {
                throw CommandFailure.badInput(
                    "--model '\(given)': no such file, and no run with that id in the store (try `sonarlab history`)")
            }
            guard let modelPath = run.modelPath else {
                throw CommandFailure.badInput(
                    "--model '\(given)': run \(run.id) has no model (it is a \(run.kind) run)")
            }
            path = modelPath
        }
        let loaded = try await loadModel(path)
        return ServedModel(artefact: loaded.artefact, source: loaded.path)
    }
}
