import Engine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Serving
import SonarLabTestSupport
import Synchronization
import Testing
import Tracking

/// Shared fixtures of the Serving tests: a model trained on the Sonar data, its rows, a recorder that keeps what
/// it is given, and request builders.
enum Fixtures {
    /// The Sonar rows (208 × 60) and labels.
    static let data: Dataset = {
        // The repository's data file is valid; a failure here is a broken checkout.
        (try? SonarData.load(path: TestPaths.sonarData).dataset)
            ?? Dataset(features: Matrix(rows: 0, columns: 60), labels: [])
    }()

    /// A small model trained on the Sonar data (deterministic: fixed seed).
    static func artefact(id: String = "20261202-010000-aaaaaa", epochs: Int = 8) -> ModelArtefact {
        var configuration = TrainingConfiguration()
        configuration.epochs = epochs
        let result = Trainer(configuration: configuration).train(trainingSet: data, validationSet: data)
        return ModelArtefact(
            experimentID: id, name: "serve-test", createdAt: Date(timeIntervalSince1970: 1_800_000_000),
            result: result, dataFingerprint: String(repeating: "cd", count: 32), configuration: configuration)
    }

    static let modelA = ServedModel(artefact: artefact(), source: "a/model.json")
    static let modelB = ServedModel(
        artefact: artefact(id: "20261202-020000-bbbbbb", epochs: 12), source: "b/model.json")

    /// Rows `range` of the data as arrays of 60 numbers.
    static func rows(_ range: Range<Int>) -> [[Float]] {
        range.map { r in Array(data.features.values[r * 60..<(r + 1) * 60]) }
    }

    /// A service on `modelA` with `recorder`.
    static func service(
        recorder: any PredictionRecorder = SpyRecorder(), configuration: ServingConfiguration = ServingConfiguration(),
        loader: @escaping ModelHolder.Loader = { Fixtures.modelB }
    ) -> ModelService {
        ModelService(
            configuration: configuration, holder: ModelHolder(model: modelA, loader: loader), recorder: recorder)
    }

    /// A V2 inference request body.
    static func v2Body(_ rows: [[Float]], id: String? = "req-1", datatype: String = "FP32", flat: Bool = false)
        -> String
    {
        let data = flat ? numbers(rows.flatMap { $0 }) : nested(rows)
        let idPart = id.map { #""id":"\#($0)","# } ?? ""
        return
            #"{\#(idPart)"inputs":[{"name":"features","shape":[\#(rows.count),60],"datatype":"\#(datatype)","data":\#(data)}]}"#
    }

    static let json: HTTPFields = [.contentType: "application/json"]

    /// `[a,b,…]` of numbers.
    static func numbers(_ values: [Float]) -> String {
        let items: [String] = values.map { "\($0)" }
        return "[\(items.joined(separator: ","))]"
    }

    /// `[[…],[…]]` of rows.
    static func nested(_ rows: [[Float]]) -> String {
        let items: [String] = rows.map { numbers($0) }
        return "[\(items.joined(separator: ","))]"
    }
}

/// A recorder that keeps every record, can fail, and can hold a request inside `record` until released.
final class SpyRecorder: PredictionRecorder, @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [PredictionRecord] = []
    private var gate: CheckedContinuation<Void, Never>?
    private var entered: CheckedContinuation<Void, Never>?
    private var isEntered = false
    let shouldFail: Bool
    let shouldHold: Bool

    init(shouldFail: Bool = false, shouldHold: Bool = false) {
        self.shouldFail = shouldFail
        self.shouldHold = shouldHold
    }

    var description: String { "spy" }
    var records: [PredictionRecord] { lock.withLock { kept } }

    func record(_ records: [PredictionRecord]) async throws {
        struct Refused: Error {}
        if shouldFail { throw Refused() }
        if shouldHold {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.withLock {
                    gate = c
                    isEntered = true
                    entered?.resume()
                    entered = nil
                }
            }
        }
        lock.withLock { kept += records }
    }

    /// Waits until a request is held inside `record`.
    func waitUntilHeld() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = lock.withLock { () -> Bool in
                if isEntered { return true }
                entered = c
                return false
            }
            if resumeNow { c.resume() }
        }
    }

    /// Lets the held request go on.
    func release() {
        lock.withLock {
            gate?.resume()
            gate = nil
        }
    }

    func backlog() async -> PendingWrites { .none }
    func deliver(retryRefused: Bool) async -> PendingWrites { .none }
}

extension TestResponse {
    /// The body as text.
    var text: String { String(buffer: body) }
    /// The body as a JSON object.
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }
    /// `{"error": …}`'s message, or "".
    var error: String { object["error"] as? String ?? "" }
}

extension TestClientProtocol {
    /// POSTs a text body.
    func post(_ uri: String, _ body: String, headers: HTTPFields = Fixtures.json) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }
    /// GETs a route.
    func get(_ uri: String) async throws -> TestResponse { try await execute(uri: uri, method: .get) }
}

/// The outputs of a V2 answer: labels and P(mine).
func outputs(_ response: TestResponse) -> (labels: [String], pMine: [Float]) {
    let outs = response.object["outputs"] as? [[String: Any]] ?? []
    let labels = outs.first { $0["name"] as? String == "label" }?["data"] as? [String] ?? []
    let p = (outs.first { $0["name"] as? String == "p_mine" }?["data"] as? [Double] ?? []).map { Float($0) }
    return (labels, p)
}

/// POSTs on a connection of its own to a live test server (the test client has one connection, which serves
/// requests one after the other): for a request that must stay in flight while others are made.
/// - Returns: The status and the body text.
func postOnOwnConnection(port: Int?, _ uri: String, _ body: String) async throws -> (
    status: HTTPResponse.Status, text: String
) {
    let client = TestClient(host: "127.0.0.1", port: port ?? 0)
    client.connect()
    do {
        let response = try await client.post(uri, headers: Fixtures.json, body: ByteBuffer(string: body))
        try await client.shutdown()
        return (response.head.status, response.body.map { String(buffer: $0) } ?? "")
    } catch {
        try? await client.shutdown()
        throw error
    }
}
