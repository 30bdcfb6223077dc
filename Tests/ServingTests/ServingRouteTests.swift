import Engine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Serving
import SonarLabTestSupport
import Testing
import Tracking

@Suite("model service routes (Open Inference Protocol V2, MLflow), in-process")
struct ServingRouteTests {
    static func app(_ service: ModelService, middlewares: ServingMiddlewares = ServingMiddlewares())
        -> some ApplicationProtocol
    {
        ServingServer.makeApplication(service: service, host: "127.0.0.1", port: 0, middlewares: middlewares)
    }

    @Test("health, server and model metadata answer as the V2 spec shapes them")
    func metadata() async throws {
        try await Self.app(Fixtures.service()).test(.router) { client in
            #expect(try await client.get("/v2/health/live").text == #"{"live":true}"#)
            #expect(try await client.get("/v2/health/ready").text == #"{"ready":true}"#)
            let server = try await client.get("/v2").object
            #expect(server["name"] as? String == "sonarlab" && (server["extensions"] as? [String]) == [])
            let model = try await client.get("/v2/models/sonar")
            #expect(model.status == .ok)
            #expect(model.object["versions"] as? [String] == [Fixtures.modelA.version])
            let inputs = model.object["inputs"] as? [[String: Any]] ?? []
            #expect(inputs.count == 1 && inputs[0]["name"] as? String == "features")
            #expect(inputs.first?["datatype"] as? String == "FP32" && inputs.first?["shape"] as? [Int] == [-1, 60])
            let outs = (model.object["outputs"] as? [[String: Any]] ?? []).map {
                "\($0["name"] ?? "") \($0["datatype"] ?? "") \($0["shape"] ?? "")"
            }
            #expect(outs.count == 2 && outs[0].hasPrefix("label BYTES") && outs[1].hasPrefix("p_mine FP32"))
            let versioned = try await client.get("/v2/models/sonar/versions/\(Fixtures.modelA.version)")
            #expect(versioned.status == .ok)
            #expect(try await client.get("/v2/models/sonar/ready").text == #"{"name":"sonar","ready":true}"#)
            #expect(try await client.get("/v2/models/sonar/versions/\(Fixtures.modelA.version)/ready").status == .ok)
            for path in ["/ping", "/health"] { #expect(try await client.get(path).status == .ok) }
            let version = try await client.get("/version").object
            #expect(version["model_version"] as? String == Fixtures.modelA.version)
        }
    }

    @Test("an unknown model, version or route is a 404 with an error naming it")
    func notFound() async throws {
        try await Self.app(Fixtures.service()).test(.router) { client in
            let model = try await client.get("/v2/models/other")
            #expect(model.status == .notFound && model.error.contains("unknown model 'other'"))
            let version = try await client.get("/v2/models/sonar/versions/nope/ready")
            #expect(version.status == .notFound && version.error.contains("unknown version 'nope'"))
            let infer = try await client.post("/v2/models/other/infer", Fixtures.v2Body(Fixtures.rows(0..<1)))
            #expect(infer.status == .notFound && infer.error.contains("unknown model"))
            let route = try await client.get("/v3")
            #expect(route.status == .notFound && route.error == "no route GET /v3")
            #expect(route.headers[.contentType] == "application/json")
        }
    }

    @Test("V2 infer answers the Engine's predictions (as sonarlab predict), echoes the id in body and header")
    func inferMatchesTheEngine() async throws {
        let spy = SpyRecorder()
        let rows = Fixtures.rows(0..<52)
        let matrix = Matrix(rowArrays: rows)
        let expectedP = Fixtures.modelA.artefact.model.mineProbabilities(matrix)
        let expectedLabels = Fixtures.modelA.artefact.model.predict(matrix).map(\.label)
        try await Self.app(Fixtures.service(recorder: spy)).test(.router) { client in
            let nested = try await client.post("/v2/models/sonar/infer", Fixtures.v2Body(rows, id: "abc"))
            #expect(nested.status == .ok, "\(nested.text)")
            #expect(nested.headers[HTTPField.Name("X-Request-Id")!] == "abc")
            #expect(nested.object["id"] as? String == "abc")
            #expect(nested.object["model_name"] as? String == "sonar")
            #expect(nested.object["model_version"] as? String == Fixtures.modelA.version)
            let (labels, p) = outputs(nested)
            #expect(labels == expectedLabels)
            #expect(p == expectedP)
            // Flat row-major FP64 data and the versioned route give the same answer.
            let flat = try await client.post(
                "/v2/models/sonar/versions/\(Fixtures.modelA.version)/infer",
                Fixtures.v2Body(rows, id: "def", datatype: "FP64", flat: true))
            #expect(flat.status == .ok)
            #expect(outputs(flat).labels == expectedLabels && outputs(flat).pMine == expectedP)
        }
        let records = spy.records
        #expect(records.count == 104)
        #expect(records[0].modelID == Fixtures.modelA.version && records[0].inputReference == "abc/000000")
        #expect(records[51].inputReference == "abc/000051" && records[52].inputReference == "def/000000")
        #expect(records[3].mineProbability == Double(expectedP[3]))
        #expect(records[3].label.label == expectedLabels[3] && records[3].caller == nil)
        #expect(records[3].featuresSHA256 == records[55].featuresSHA256 && records[3].featuresSHA256?.count == 64)
        #expect(records[3].featuresSHA256 != records[4].featuresSHA256)
    }

    @Test("the request id comes from X-Request-Id without a body id, or is made; outputs can be chosen")
    func requestIDsAndOutputs() async throws {
        try await Self.app(Fixtures.service()).test(.router) { client in
            var headers = Fixtures.json
            headers[HTTPField.Name("X-Request-Id")!] = "from-header"
            let r = try await client.post(
                "/v2/models/sonar/infer", Fixtures.v2Body(Fixtures.rows(0..<2), id: nil), headers: headers)
            #expect(r.object["id"] as? String == "from-header")
            let made = try await client.post("/v2/models/sonar/infer", Fixtures.v2Body(Fixtures.rows(0..<2), id: nil))
            let id = made.object["id"] as? String ?? ""
            #expect(id.count == 36 && made.headers[HTTPField.Name("X-Request-Id")!] == id)
            let body = Fixtures.v2Body(Fixtures.rows(0..<2)).dropLast() + #","outputs":[{"name":"p_mine"}]}"#
            let chosen = try await client.post("/v2/models/sonar/infer", String(body))
            let names = (chosen.object["outputs"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(names == ["p_mine"])
        }
    }

    @Test("a caller set by an infer-group middleware is recorded; health and metadata need no middleware")
    func groupMiddlewareSetsTheCaller() async throws {
        struct Caller: RouterMiddleware {
            typealias Context = ServingRequestContext
            func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
                async throws -> Response
            {
                guard request.headers[.authorization] == "Bearer test" else { throw HTTPError(.unauthorized) }
                var context = context
                context.caller = "alice"
                return try await next(request, context)
            }
        }
        let spy = SpyRecorder()
        let middlewares = ServingMiddlewares(infer: [Caller()], admin: [Caller()])
        try await Self.app(Fixtures.service(recorder: spy), middlewares: middlewares).test(.router) { client in
            let body = Fixtures.v2Body(Fixtures.rows(0..<1))
            let refused = try await client.post("/v2/models/sonar/infer", body)
            #expect(refused.status == .unauthorized && refused.error == "Unauthorized")
            #expect(
                try await client.execute(uri: "/v2/repository/models/sonar/load", method: .post).status == .unauthorized
            )
            var headers = Fixtures.json
            headers[.authorization] = "Bearer test"
            #expect(try await client.post("/v2/models/sonar/infer", body, headers: headers).status == .ok)
            #expect(try await client.get("/v2/health/ready").status == .ok)
            #expect(try await client.get("/v2/models/sonar").status == .ok)
        }
        #expect(spy.records.map(\.caller) == ["alice"])
    }

    @Test("MLflow /invocations: dataframe_split, dataframe_records, instances, inputs and text/csv agree")
    func invocations() async throws {
        let rows = Fixtures.rows(10..<13)
        let matrix = Matrix(rowArrays: rows)
        let expected = Fixtures.modelA.artefact.model.mineProbabilities(matrix)
        let labels = Fixtures.modelA.artefact.model.predict(matrix).map(\.label)
        let nested = Fixtures.nested(rows)
        let recordItems: [String] = rows.map { row in
            let cells: [String] = row.enumerated().map { #""c\#($0.offset)":\#($0.element)"# }
            return "{\(cells.joined(separator: ","))}"
        }
        let records = "[\(recordItems.joined(separator: ","))]"
        let columnNames: [String] = (0..<60).map { "\"c\($0)\"" }
        let bodies = [
            #"{"dataframe_split":{"columns":[\#(columnNames.joined(separator: ","))],"data":\#(nested)}}"#,
            #"{"dataframe_records":\#(records)}"#,
            #"{"instances":\#(nested)}"#,
            #"{"inputs":\#(nested)}"#,
            #"{"inputs":{"features":\#(nested)},"params":{}}"#,
        ]
        let header: [String] = (0..<60).map { "c\($0)" }
        let lines: [String] = rows.map { row in row.map { "\($0)" }.joined(separator: ",") }
        let csv = "\(header.joined(separator: ","))\n\(lines.joined(separator: "\n"))\n"
        try await Self.app(Fixtures.service()).test(.router) { client in
            var answers: [TestResponse] = []
            for body in bodies { answers.append(try await client.post("/invocations", body)) }
            answers.append(try await client.post("/invocations", csv, headers: [.contentType: "text/csv"]))
            for answer in answers {
                #expect(answer.status == .ok, "\(answer.text)")
                let predictions = answer.object["predictions"] as? [[String: Any]] ?? []
                #expect(predictions.compactMap { $0["label"] as? String } == labels)
                #expect(predictions.compactMap { ($0["p_mine"] as? Double).map { Float($0) } } == expected)
            }
        }
    }

    @Test("a failing recorder means no answer: 503 and the predictions are not sent")
    func recorderFailure() async throws {
        try await Self.app(Fixtures.service(recorder: SpyRecorder(shouldFail: true))).test(.router) { client in
            let r = try await client.post("/v2/models/sonar/infer", Fixtures.v2Body(Fixtures.rows(0..<1)))
            #expect(r.status == .serviceUnavailable && r.error.contains("could not be recorded"))
            #expect(r.headers[.retryAfter] == "1" && r.object["outputs"] == nil)
        }
    }

    @Test("past the request timeout the answer is 503 and nothing is recorded")
    func timeout() async throws {
        let spy = SpyRecorder()
        let service = Fixtures.service(recorder: spy, configuration: ServingConfiguration(requestTimeout: .zero))
        try await Self.app(service).test(.router) { client in
            let r = try await client.post("/v2/models/sonar/infer", Fixtures.v2Body(Fixtures.rows(0..<1)))
            #expect(r.status == .serviceUnavailable && r.error.contains("request timeout"))
        }
        #expect(spy.records.isEmpty)
    }

    @Test("one request over max_concurrency is a 503 with Retry-After; health still answers")
    func concurrencyLimit() async throws {
        let spy = SpyRecorder(shouldHold: true)
        let service = Fixtures.service(recorder: spy, configuration: ServingConfiguration(maxConcurrency: 1))
        try await Self.app(service).test(.live) { client in
            let body = Fixtures.v2Body(Fixtures.rows(0..<1))
            async let first = postOnOwnConnection(port: client.port, "/v2/models/sonar/infer", body)
            await spy.waitUntilHeld()
            let second = try await client.post("/v2/models/sonar/infer", body)
            #expect(second.status == .serviceUnavailable && second.headers[.retryAfter] == "1")
            #expect(second.error.contains("limit of 1 requests"))
            #expect(try await client.get("/v2/health/ready").status == .ok)
            spy.release()
            #expect(try await first.status == .ok)
        }
        #expect(spy.records.count == 1)
    }

    @Test("a reload swaps the model atomically: the request in flight finishes on the old version")
    func reload() async throws {
        let spy = SpyRecorder(shouldHold: true)
        let service = Fixtures.service(recorder: spy)
        try await Self.app(service).test(.live) { client in
            async let inFlight = postOnOwnConnection(
                port: client.port, "/v2/models/sonar/infer", Fixtures.v2Body(Fixtures.rows(0..<1)))
            await spy.waitUntilHeld()
            let load = try await client.execute(uri: "/v2/repository/models/sonar/load", method: .post)
            #expect(load.status == .ok)
            #expect(load.object["version"] as? String == Fixtures.modelB.version)
            #expect(load.object["previous_version"] as? String == Fixtures.modelA.version)
            spy.release()
            let answered = try await inFlight.text
            #expect(answered.contains(#""model_version":"\#(Fixtures.modelA.version)""#))
            let model = try await client.get("/v2/models/sonar").object
            #expect(model["versions"] as? [String] == [Fixtures.modelB.version])
            let metrics = try await client.get("/metrics").text
            #expect(
                metrics.contains(#"sonarlab_serve_model_info{model="sonar",version="\#(Fixtures.modelB.version)"} 1"#))
            #expect(!metrics.contains(Fixtures.modelA.version))
            #expect(try await client.execute(uri: "/v2/repository/models/x/load", method: .post).status == .notFound)
        }
    }

    @Test("a reload that fails keeps the previous model serving and says why")
    func failedReload() async throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "manifest mismatch" } }
        let service = Fixtures.service(loader: { throw Broken() })
        try await Self.app(service).test(.router) { client in
            let load = try await client.execute(uri: "/v2/repository/models/sonar/load", method: .post)
            #expect(load.status == .internalServerError && load.error.contains("manifest mismatch"))
            #expect(try await client.get("/v2/models/sonar/versions/\(Fixtures.modelA.version)").status == .ok)
        }
    }

    @Test("/metrics exposes the named counters, histograms (sub-millisecond buckets) and gauges")
    func metrics() async throws {
        try await Self.app(Fixtures.service()).test(.router) { client in
            _ = try await client.post("/v2/models/sonar/infer", Fixtures.v2Body(Fixtures.rows(0..<3)))
            _ = try await client.post("/v2/models/sonar/infer", "{")
            let response = try await client.get("/metrics")
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = response.text
            for line in [
                #"sonarlab_serve_requests_total{route="/v2/models/{name}/infer",status="200"} 1"#,
                #"sonarlab_serve_requests_total{route="/v2/models/{name}/infer",status="400"} 1"#,
                #"sonarlab_serve_request_duration_seconds_bucket{route="/v2/models/{name}/infer",le="0.0001"}"#,
                #"sonarlab_serve_stage_duration_seconds_count{stage="decode"} 1"#,
                #"sonarlab_serve_stage_duration_seconds_count{stage="infer"} 1"#,
                #"sonarlab_serve_stage_duration_seconds_count{stage="record"} 1"#,
                "sonarlab_serve_rows_predicted_total 3", "sonarlab_serve_outbox_depth 0",
                "sonarlab_serve_inflight_requests 1",
                #"sonarlab_serve_model_info{model="sonar",version="\#(Fixtures.modelA.version)"} 1"#,
            ] {
                #expect(text.contains(line), "missing \(line)")
            }
        }
    }
}
