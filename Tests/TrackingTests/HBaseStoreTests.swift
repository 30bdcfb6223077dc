import Engine
import Foundation
import HBase
import HBaseRESTDouble
import Testing
import Tracking

/// The HBase-backed stores against the double started in-process on 127.0.0.1 (port 0).
@Suite("HBase-backed tracking stores")
struct HBaseStoreTests {
    static func withStores<R: Sendable>(_ body: (HBaseClient, HBaseTrackingLayout) async throws -> R) async throws -> R
    {
        let configuration = HBaseRESTDoubleConfiguration(host: "127.0.0.1", port: 0)
        return try await HBaseRESTDouble.withRunning(configuration: configuration) { (port: Int) async throws -> R in
            let url = URL(string: "http://127.0.0.1:\(port)")!
            return try await HBaseClient.withClient(configuration: HBaseClientConfiguration(baseURL: url)) {
                (client: HBaseClient) async throws -> R in
                let layout = HBaseTrackingLayout()
                try await layout.ensure(using: client)
                return try await body(client, layout)
            }
        }
    }

    static func metrics(_ epoch: Int) -> EpochMetrics {
        EpochMetrics(
            epoch: epoch,
            train: SplitMetrics(loss: 1.0 / Double(epoch), accuracy: 0.5 + Double(epoch) / 1000, macroF1: 0.4),
            validation: SplitMetrics(loss: 0.7 / Double(epoch), accuracy: 0.1 * 3, macroF1: 0.3333333333333333),
            elapsedSeconds: 0.013 * Double(epoch)
        )
    }

    @Test func initIsIdempotentAndStatusSeesTheTables() async throws {
        let configuration = HBaseRESTDoubleConfiguration(host: "127.0.0.1", port: 0)
        try await HBaseRESTDouble.withRunning(configuration: configuration) { (port: Int) async throws in
            let url = URL(string: "http://127.0.0.1:\(port)")!
            try await HBaseClient.withClient(configuration: HBaseClientConfiguration(baseURL: url)) {
                (client: HBaseClient) async throws in
                let layout = HBaseTrackingLayout()
                #expect(try await layout.status(using: client).isInitialized == false)
                let first = try await layout.ensure(using: client)
                #expect(
                    first == [
                        "namespace sonarlab", "table sonarlab:experiments", "table sonarlab:datasets",
                        "table sonarlab:predictions",
                    ])
                #expect(try await layout.ensure(using: client).isEmpty)
                let status = try await layout.status(using: client)
                #expect(status.isInitialized)
                #expect(!status.clusterVersion.isEmpty)
            }
        }
    }

    @Test func rowKeysInvertDigitsSoNewerRunsSortFirst() {
        let older = HBaseExperimentStore.rowKey(forID: "20261129-091500-00a1f3")
        let newer = HBaseExperimentStore.rowKey(forID: "20261129-091501-00a1f3")
        #expect(older == "79738870-908499-99a8f6")
        #expect(newer < older)
        #expect(HBaseExperimentStore.rowKey(forID: older) == "20261129-091500-00a1f3")
    }

    @Test func experimentRoundTripsThroughCreateAppendAndFinish() async throws {
        try await Self.withStores { client, layout in
            let store = HBaseExperimentStore(client: client, layout: layout)
            try await store.checkReachable()
            var experiment = Experiment(
                id: Experiment.makeID(startingAt: Date()), name: "baseline", kind: .train, startedAt: Date(),
                parameters: ["mlp.lr": "0.01", "mlp.hidden_size": "40"], dataFingerprint: "abc123"
            )
            try await store.create(experiment)
            #expect(try await store.experiment(id: experiment.id) == experiment)

            try await store.appendEpochs([Self.metrics(1), Self.metrics(2)], experimentID: experiment.id)
            try await store.appendEpochs([Self.metrics(3)], experimentID: experiment.id)
            #expect(try await store.experiment(id: experiment.id)?.epochs == [1, 2, 3].map(Self.metrics))

            experiment.epochs = (1...4).map(Self.metrics)
            experiment.status = .finished
            experiment.endedAt = Date()
            experiment.modelPath = "models/baseline.json"
            experiment.result = ExperimentResult(
                bestEpoch: 4, train: Self.metrics(4).train, validation: Self.metrics(4).validation)
            try await store.finish(experiment)
            #expect(try await store.experiment(id: experiment.id) == experiment)
            #expect(try await store.experiment(id: "19990101-000000-000000") == nil)

            // Flat metrics are readable without JSON (raw-HTTP checks, the dashboard).
            let row = try #require(
                try await client.row(
                    HBaseExperimentStore.rowKey(forID: experiment.id), in: layout.experiments,
                    columns: [HBaseColumn("m", "val_accuracy")]))
            #expect(row.string(of: HBaseColumn("m", "val_accuracy")) == "0.30000000000000004")
        }
    }

    @Test func listingIsNewestFirstWithoutEpochsAndHonoursTheLimit() async throws {
        try await Self.withStores { client, layout in
            let store = HBaseExperimentStore(client: client, layout: layout)
            let base = Date(timeIntervalSince1970: 1_790_000_000)
            var ids: [String] = []
            for offset in 0..<5 {
                let start = base.addingTimeInterval(Double(offset) * 61)
                var experiment = Experiment(
                    id: Experiment.makeID(startingAt: start), name: "run\(offset)", kind: .train, startedAt: start,
                    parameters: [:], dataFingerprint: "f")
                experiment.epochs = [Self.metrics(1)]
                try await store.create(experiment)
                ids.append(experiment.id)
            }
            let all = try await store.experiments(limit: nil)
            #expect(all.map(\.id) == ids.reversed())
            #expect(all.allSatisfy { $0.epochs.isEmpty })
            #expect(try await store.experiments(limit: 2).map(\.id) == Array(ids.reversed().prefix(2)))
            #expect(try await store.experiments(limit: 0).isEmpty)
        }
    }

    @Test func datasetLoadIsIdempotentAndFeaturesReadBackBitIdentical() async throws {
        try await Self.withStores { client, layout in
            let store = HBaseDatasetStore(client: client, layout: layout)
            var records: [DatasetRecord] = []
            for index in 0..<156 {
                records.append(
                    DatasetRecord(
                        split: .train, index: index, features: (0..<60).map { Float($0) * 0.0173 + Float(index) / 7 },
                        label: index % 2 == 0 ? .rock : .mine, line: index + 1))
            }
            for index in 0..<52 {
                records.append(
                    DatasetRecord(
                        split: .validation, index: index, features: (0..<60).map { Float.ulpOfOne * Float($0 + index) },
                        label: .mine, line: 200 + index))
            }
            try await store.write(records, fingerprint: "fp1", batchSize: 100)
            try await store.write(records, fingerprint: "fp1", batchSize: 100)
            let back = try await store.records(fingerprint: "fp1")
            #expect(back.count == 208)
            #expect(back == records)
            #expect(try await store.records(fingerprint: "fp2").isEmpty)
        }
    }

    @Test func predictionsRoundTripPerModel() async throws {
        try await Self.withStores { client, layout in
            let store = HBasePredictionStore(client: client, layout: layout)
            let time = Date(timeIntervalSince1970: 1_790_000_000.25)
            let records = (0..<30).map {
                PredictionRecord(
                    modelID: "m1", inputReference: String(format: "validation/%05d", $0),
                    label: $0 % 3 == 0 ? .rock : .mine, probability: 0.5 + Double($0) / 100, predictedAt: time)
            }
            try await store.write(records, batchSize: 7)
            try await store.write([
                PredictionRecord(modelID: "m2", inputReference: "x", label: .rock, probability: 0.9, predictedAt: time)
            ])
            #expect(try await store.predictions(modelID: "m1") == records)
            #expect(try await store.predictions(modelID: "m2").count == 1)
        }
    }
}
