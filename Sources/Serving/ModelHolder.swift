public import Engine
import Synchronization

/// The model being served: the artefact and how it is named in the routes.
public struct ServedModel: Sendable {
    /// The verified artefact.
    public let artefact: ModelArtefact
    /// Where it was read from (a `model.json` or a distribution zip), for logs and `GET /v2/models/{name}`.
    public let source: String
    /// The version in the routes: the training experiment id.
    public var version: String { artefact.experimentID }

    /// Creates a value.
    /// - Parameters:
    ///   - artefact: The verified artefact.
    ///   - source: Where it came from.
    public init(artefact: ModelArtefact, source: String) {
        self.artefact = artefact
        self.source = source
    }
}

/// Holds the served model and swaps it atomically on reload: a request takes the current model once, at its
/// start, and finishes on it even when a reload lands meanwhile.
public final class ModelHolder: Sendable {
    /// Reads and verifies the model again (SIGHUP, `POST /v2/repository/models/{name}/load`).
    public typealias Loader = @Sendable () async throws -> ServedModel

    private let current: Mutex<ServedModel>
    private let loader: Loader
    private let reloads = Mutex<Int>(0)

    /// Creates a holder around a model loaded (and verified) before the service listens.
    /// - Parameters:
    ///   - model: The first model.
    ///   - loader: How a reload reads the model.
    public init(model: ServedModel, loader: @escaping Loader) {
        self.current = Mutex(model)
        self.loader = loader
    }

    /// The model now.
    public var model: ServedModel { current.withLock { $0 } }

    /// Loads the model again and swaps it in; on failure the previous model keeps serving.
    /// - Returns: The previous model and the new one.
    /// - Throws: ``ServingError/Code/loadFailed`` with the loader's message (for example a zip whose manifest does
    ///   not match).
    @discardableResult
    public func reload() async throws(ServingError) -> (previous: ServedModel, current: ServedModel) {
        let next: ServedModel
        do {
            next = try await loader()
        } catch {
            throw ServingError(.loadFailed, "the model could not be loaded, the previous one keeps serving: \(error)")
        }
        let previous = current.withLock { value in
            let old = value
            value = next
            return old
        }
        reloads.withLock { $0 += 1 }
        return (previous, next)
    }

    /// How many reloads succeeded.
    public var reloadCount: Int { reloads.withLock { $0 } }
}
