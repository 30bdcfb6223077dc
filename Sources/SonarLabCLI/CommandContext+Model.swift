import Engine
import Foundation
import Settings
import Tracking

/// A model read for predict, test or export.
struct LoadedModel {
    /// The artefact.
    let artefact: ModelArtefact
    /// Where it came from (a model.json or a distribution zip).
    let path: String
    /// The exact bytes of `model.json`.
    let bytes: Data
}

extension CommandContext {
    /// The latest finished training run's model path in the configured store.
    /// - Throws: ``CommandFailure`` (exit 2) when there is none.
    func latestModelPath() async throws -> String {
        let store = try openStore()
        let runs = try await store.experiments(limit: 200)
        guard let latest = runs.first(where: { $0.status == .finished && $0.kind == .train && $0.modelPath != nil }),
            let path = latest.modelPath
        else {
            let elsewhere =
                configuration.tracking.backend == .hbase ? "" : ", --backend hbase if it was recorded in HBase,"
            throw CommandFailure.badInput(
                "no finished training run in \(store.location); pass --model\(elsewhere) or run `sonarlab train`")
        }
        return path
    }

    /// Reads a model: `path` (a `model.json`, or a `.zip` distribution whose manifest is checked first), or the
    /// latest finished training run's model when `path` is `nil`.
    /// - Throws: ``DataError`` for an unreadable, malformed or altered model (exit 2).
    func loadModel(_ path: String?) async throws -> LoadedModel {
        let resolved: String
        if let path { resolved = path } else { resolved = try await latestModelPath() }
        if resolved.lowercased().hasSuffix(".zip") {
            let opened = try ModelPackage.open(path: resolved)
            return LoadedModel(
                artefact: opened.artefact, path: resolved, bytes: opened.files[ModelPackage.modelName] ?? Data())
        }
        let bytes = try SonarData.readFile(resolved)
        return LoadedModel(artefact: try ModelArtefact.decode(bytes, file: resolved), path: resolved, bytes: bytes)
    }
}
