public import Engine
public import Foundation
import ZIPFoundation

/// The model distribution: `sonarlab-model-<version>.zip`, verified by a SHA-256 manifest.
///
/// Entries (all at the archive's root):
/// - `model.json` — the model artefact, byte for byte as training wrote it;
/// - `config.ini` — the `[data]`, `[split]` and `[mlp]` values the model was trained with;
/// - `metrics.json` — kept epoch, train and validation metrics, confusion matrix, and the cross-validation
///   scores of a `cv` run on the same data when one was recorded;
/// - `DATA_FINGERPRINT` — `<fingerprint>  <data file>` of the training data: the data fingerprint (SHA-256 of the
///   file's canonical form, `SonarData.canonicalForm(of:headerLine:)`; equal to `sha256sum` of a canonical file);
///   `metrics.json` and the model card also hold the file's own SHA-256 when known;
/// - `MODEL_CARD.md` — intended use, data, metrics, limits;
/// - `MANIFEST.sha256` — `<sha256>  <name>` of every other entry, in `sha256sum -c` format.
///
/// `<version>` is the training experiment's id (`yyyyMMdd-HHmmss-xxxxxx`): unique, sortable by time, and
/// the key of the run in the store. ``open(path:)`` checks the manifest before it reads the model.
public enum ModelPackage {
    /// The manifest's entry name.
    public static let manifestName = "MANIFEST.sha256"
    /// The model's entry name.
    public static let modelName = "model.json"

    /// What goes into a package besides the model.
    public struct Contents: Sendable {
        /// The model file's exact bytes.
        public var modelBytes: Data
        /// The decoded model.
        public var artefact: ModelArtefact
        /// The training run's recorded parameters (keys as in config.ini); empty when unknown.
        public var parameters: [String: String]
        /// The training data file's path, as recorded.
        public var dataPath: String
        /// Cross-validation scores of a cv run on the same data, if one was recorded.
        public var crossValidation: CrossValidationSummary?
        /// Id of that cv run.
        public var crossValidationExperimentID: String?
        /// The sweep the run's settings came from (`train --from-trial`: the run's `sweep.from_sweep`), if recorded.
        public var sweep: Experiment?
        /// That sweep's trial (the run's `sweep.from_trial`), if recorded.
        public var trial: Experiment?

        /// Creates package contents.
        public init(
            modelBytes: Data, artefact: ModelArtefact, parameters: [String: String], dataPath: String,
            crossValidation: CrossValidationSummary? = nil, crossValidationExperimentID: String? = nil,
            sweep: Experiment? = nil, trial: Experiment? = nil
        ) {
            self.sweep = sweep
            self.trial = trial
            self.modelBytes = modelBytes
            self.artefact = artefact
            self.parameters = parameters
            self.dataPath = dataPath
            self.crossValidation = crossValidation
            self.crossValidationExperimentID = crossValidationExperimentID
        }
    }

    /// The file name of a package: `sonarlab-model-<experiment id>.zip`.
    public static func fileName(for artefact: ModelArtefact) -> String {
        "sonarlab-model-\(artefact.experimentID).zip"
    }

    /// The entries of a package, manifest last, as name and bytes.
    public static func entries(_ contents: Contents) -> [(name: String, data: Data)] {
        var files: [(name: String, data: Data)] = [
            (modelName, contents.modelBytes),
            ("config.ini", Data(configINI(contents).utf8)),
            ("metrics.json", metricsJSON(contents)),
            ("DATA_FINGERPRINT", Data("\(contents.artefact.dataFingerprint)  \(contents.dataPath)\n".utf8)),
            ("MODEL_CARD.md", Data(modelCard(contents).utf8)),
        ]
        files.append((manifestName, Data(manifest(files).utf8)))
        return files
    }

    /// Writes the package into `directory` (created if needed), replacing a package of the same name.
    /// - Parameters:
    ///   - contents: the model and what describes it.
    ///   - directory: the output folder.
    /// - Returns: the zip's path.
    /// - Throws: a file-system or ZIPFoundation error.
    public static func write(_ contents: Contents, toDirectory directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent(fileName(for: contents.artefact))
        let temporary = path + ".partial"
        try? FileManager.default.removeItem(atPath: temporary)
        let archive = try Archive(url: URL(fileURLWithPath: temporary), accessMode: .create)
        let date = ISO8601DateFormatter().date(from: contents.artefact.createdAt) ?? Date()
        for (name, data) in entries(contents) {
            try archive.addEntry(
                with: name, type: .file, uncompressedSize: Int64(data.count), modificationDate: date,
                compressionMethod: .deflate
            ) { position, size in
                data.subdata(in: Int(position)..<min(data.count, Int(position) + size))
            }
        }
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
        return path
    }

    /// A verified package, read back.
    public struct Opened: Sendable {
        /// The model.
        public let artefact: ModelArtefact
        /// Every entry's bytes by name (the manifest included).
        public let files: [String: Data]
    }

    /// Opens a package and checks it before anything is used.
    ///
    /// First the archive's structure, before any entry is extracted (``checkedEntries(of:path:limits:)``): no
    /// duplicate, absolute, `..`, backslash or drive-letter name, only regular files, sizes within `limits`. Then
    /// each entry is extracted with its CRC-32 checked and never past its stated size; every entry must be listed
    /// in the manifest with the SHA-256 of its bytes, every listed entry must exist, and the model must decode.
    /// - Parameters:
    ///   - path: the zip; named in every error.
    ///   - limits: the zip-bomb caps; default ``Limits/standard`` (16 MiB per entry, 32 MiB in all).
    /// - Returns: the model and the entries.
    /// - Throws: ``DataError`` `unreadable` (not a zip, damaged data) or `malformed` (an unsafe entry, no manifest,
    ///   a hash that does not match, an entry missing from or extra to the manifest), each naming the zip and entry.
    public static func open(path: String, limits: Limits = .standard) throws(DataError) -> Opened {
        // A folder or a FIFO named *.zip: ZIPFoundation would spin or block on it.
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
            guard !isDirectory.boolValue, type == .typeRegular else {
                throw DataError(
                    .unreadable, file: path,
                    reason: isDirectory.boolValue ? "is a folder, not a zip archive" : "not a regular file")
            }
        }
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "not a readable zip archive" : "no such file"
            throw DataError(.unreadable, file: path, reason: reason)
        }
        let entries = try checkedEntries(of: archive, path: path, limits: limits)
        var files = [String: Data]()
        for entry in entries {
            files[entry.path] = try extract(entry, from: archive, path: path)
        }
        guard let manifestData = files[manifestName], let manifestText = String(data: manifestData, encoding: .utf8)
        else {
            throw DataError(.malformed, file: path, reason: "\(manifestName) is missing: not a SonarLab model package")
        }
        var listed = [String: String]()
        for (index, line) in manifestText.split(separator: "\n").enumerated() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 64, parts[1].hasPrefix(" ") else {
                throw DataError(
                    .malformed, file: path, line: index + 1,
                    reason: "\(manifestName): expected '<sha256>  <name>' — the manifest was altered")
            }
            let name = String(parts[1].dropFirst())
            guard listed.updateValue(String(parts[0]), forKey: name) == nil else {
                throw DataError(
                    .malformed, file: path, line: index + 1,
                    reason: "\(manifestName): \(DataError.quoted(Substring(name))) is listed twice — the manifest "
                        + "was altered")
            }
        }
        for name in files.keys.sorted() where name != manifestName {
            guard let expected = listed[name] else {
                throw DataError(
                    .malformed, file: path, reason: "\(name) is not in \(manifestName) — the archive was altered")
            }
            let actual = SonarData.sha256Hex(of: files[name]!)
            guard actual == expected else {
                throw DataError(
                    .malformed, file: path,
                    reason: "\(name): sha256 \(actual) does not match \(manifestName) (\(expected)) — the archive "
                        + "was altered or damaged; refusing it")
            }
        }
        if let missing = listed.keys.sorted().first(where: { files[$0] == nil }) {
            throw DataError(.malformed, file: path, reason: "\(missing) is listed in \(manifestName) but missing")
        }
        guard let model = files[modelName] else {
            throw DataError(.malformed, file: path, reason: "\(modelName) is missing from the package")
        }
        return Opened(artefact: try ModelArtefact.decode(model, file: "\(path):\(modelName)"), files: files)
    }

    /// Extracts one checked entry: CRC-32 verified, never more bytes than the entry states (a lying size is a
    /// zip bomb's trick), and exactly that many.
    /// - Throws: ``DataError`` `unreadable` naming the entry.
    static func extract(_ entry: Entry, from archive: Archive, path: String) throws(DataError) -> Data {
        struct Overflow: Error {}
        let stated = entry.uncompressedSize
        var data = Data()
        let name = DataError.quoted(Substring(entry.path))
        do {
            let crc = try archive.extract(entry, skipCRC32: false) { chunk in
                guard UInt64(data.count + chunk.count) <= stated else { throw Overflow() }
                data.append(chunk)
            }
            guard crc == entry.checksum, UInt64(data.count) == stated else {
                throw DataError(.unreadable, file: path, reason: "\(name): CRC32 or size mismatch")
            }
        } catch is Overflow {
            throw DataError(
                .unreadable, file: path,
                reason: "\(name) inflates past its stated \(stated) bytes (a zip bomb?) — refusing the archive")
        } catch let error as DataError {
            throw DataError(error.code, file: path, reason: error.reason + "; the archive was altered — refusing it")
        } catch {
            throw DataError(
                .unreadable, file: path,
                reason: "\(name): the entry is damaged (\(error)); the archive was altered — refusing it")
        }
        return data
    }

    /// `sha256sum`-format lines for the given entries, sorted by name.
    static func manifest(_ files: [(name: String, data: Data)]) -> String {
        files.sorted { $0.name < $1.name }.map { "\(SonarData.sha256Hex(of: $0.data))  \($0.name)\n" }.joined()
    }

    /// The effective training configuration as INI text.
    static func configINI(_ c: Contents) -> String {
        var p = c.parameters
        let t = c.artefact.configuration
        let derived: [String: String] = [
            "data.path": c.dataPath, "mlp.hidden_size": "\(t.hiddenSize)", "mlp.lr": "\(t.learningRate)",
            "mlp.epochs": "\(t.epochs)", "mlp.batch_size": "\(t.batchSize ?? 0)",
            "mlp.weight_decay": "\(t.weightDecay)",
            "mlp.early_stopping": "\(t.earlyStoppingPatience ?? 0)", "mlp.seed": "\(t.seed)",
            "mlp.select": t.selection.rawValue,
        ]
        for (k, v) in derived where p[k] == nil { p[k] = v }
        var text = "# The configuration model \(c.artefact.experimentID) was trained with (sonarlab export).\n"
        var section = ""
        for key in p.keys.sorted() {
            let parts = key.split(separator: ".", maxSplits: 1)
            guard parts.count == 2 else { continue }
            if parts[0] != section {
                section = String(parts[0])
                text += "\n[\(section)]\n"
            }
            text += "\(parts[1]) = \(p[key]!)\n"
        }
        return text
    }

    static func metricsJSON(_ c: Contents) -> Data {
        let a = c.artefact
        func m(_ s: SplitMetrics) -> [String: Double] { ["loss": s.loss, "accuracy": s.accuracy, "f1": s.macroF1] }
        var object: [String: Any] = [
            "experiment_id": a.experimentID, "best_epoch": a.bestEpoch, "train": m(a.train),
            "validation": m(a.validation),
            "validation_confusion_matrix": a.validationConfusion.counts, "data_fingerprint": a.dataFingerprint,
        ]
        if let raw = a.dataFileSHA256 { object["data_file_sha256"] = raw }
        if let cv = c.crossValidation {
            object["cross_validation"] =
                [
                    "experiment_id": c.crossValidationExperimentID ?? "", "folds": cv.folds, "repeats": cv.repeats,
                    "fits": cv.fits, "accuracy_mean": cv.accuracyMean, "accuracy_sd": cv.accuracySD,
                    "f1_mean": cv.f1Mean,
                    "f1_sd": cv.f1SD,
                ] as [String: Any]
        }
        // Dictionaries of numbers and strings always serialise.
        return try! JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// "Adam" or "AdamW (decoupled weight decay, Loshchilov & Hutter 2019)".
    static func optimizerText(_ configuration: TrainingConfiguration) -> String {
        switch configuration.optimizer {
        case .adam: "Adam (Kingma & Ba 2015, weight decay as L2 on the gradients)"
        case .adamW: "AdamW (Adam with decoupled weight decay, Loshchilov & Hutter 2019)"
        }
    }

    /// Dropout, input noise and the ensemble, when they are on.
    static func regularisationText(_ configuration: TrainingConfiguration) -> String {
        var parts: [String] = []
        if configuration.dropout > 0 { parts.append("dropout \(configuration.dropout) on the hidden layer") }
        if configuration.inputNoise > 0 {
            parts.append("Gaussian input noise σ = \(configuration.inputNoise) on the standardised features")
        }
        if configuration.ensemble > 1 {
            parts.append(
                "an ensemble of \(configuration.ensemble) seed-varied MLPs, their "
                    + "probabilities averaged; the model file holds all \(configuration.ensemble)")
        }
        return parts.isEmpty ? "" : "; " + parts.joined(separator: ", ")
    }

    /// Where the settings came from: the sweep, its search space, the trial's CV score and the nested estimate.
    static func selectionText(_ c: Contents) -> String {
        selectionText(parameters: c.parameters, sweep: c.sweep, trial: c.trial)
    }

    static func selectionText(parameters: [String: String], sweep: Experiment?, trial: Experiment?) -> String {
        guard let trialID = parameters["sweep.from_trial"] else {
            return "The settings were given directly (`config.ini`, flags), not picked by a sweep."
        }
        let f = { (x: Double) in PlainNumber.format("%.4f", x) }
        var text = "**Selection.** The settings are those of trial `\(trialID)`"
        guard let sweep else {
            return text + " (`train --from-trial`); its sweep was not found in the store when this package was made."
        }
        let p = sweep.parameters
        text += " of sweep `\(sweep.id)` (\(p["sweep.strategy"] ?? "?"), \(p["sweep.trials"] ?? "?") trials, seed "
        text += "\(p["sweep.seed"] ?? "?"); every trial scored by \(p["cv.repeats"] ?? "?") × \(p["cv.folds"] ?? "?")-fold "
        text += "stratified CV on the same folds)."
        if let cv = trial?.result?.crossValidation {
            text += " The trial's CV accuracy: **\(f(cv.accuracyMean)) ± \(f(cv.accuracySD))** over \(cv.fits) fits; "
            text += "a pick among many trials scored on the same folds, it is optimistic."
        }
        if let mean = p["sweep.nested.accuracy_mean"].flatMap(Double.init),
            let sd = p["sweep.nested.accuracy_sd"].flatMap(Double.init)
        {
            text += " Nested estimate of the whole search (\(p["sweep.nested.folds"] ?? "?") outer folds, the "
            text += "search repeated inside each): **\(f(mean)) ± \(f(sd))**."
        } else {
            text += " No nested estimate was recorded (`sonarlab sweep --nested K` gives one)."
        }
        let space = p.keys.filter { $0.hasPrefix("sweep.space.") }.sorted().map { key in
            "`\(key.dropFirst("sweep.space.00.".count)) = \(p[key] ?? "")`"
        }
        if !space.isEmpty { text += " Search space: " + space.joined(separator: ", ") + "." }
        return text
    }

    static func modelCard(_ c: Contents) -> String {
        let a = c.artefact
        let net = a.model.network
        let f = { (x: Double) in PlainNumber.format("%.4f", x) }
        let cm = a.validationConfusion.counts
        var cv = "No cross-validation run on the same data was recorded in the store when this package was made."
        if let s = c.crossValidation {
            cv =
                "Repeated stratified \(s.folds)-fold cross-validation, \(s.repeats) repeats (\(s.fits) fits, experiment "
                + "`\(c.crossValidationExperimentID ?? "-")`): accuracy **\(f(s.accuracyMean)) ± \(f(s.accuracySD))**, "
                + "macro-F1 \(f(s.f1Mean)) ± \(f(s.f1SD)). Each fit is scored with its last epoch's model."
        }
        let fileSHA = a.dataFileSHA256.map { ", file sha256 `\($0)`" } ?? ""
        let split = "test_size \(c.parameters["split.test_size"] ?? "0.25"), seed \(c.parameters["split.seed"] ?? "42")"
        return """
            # Model card: SonarLab MLP \(a.experimentID)

            | | |
            | --- | --- |
            | version | `\(a.experimentID)` (the training experiment's id) |
            | name | \(a.name) |
            | created | \(a.createdAt) |
            | architecture | MLP \(net.inputSize)-\(net.hiddenSize)-\(net.outputSize), ReLU, softmax over `R`, `M` |
            | format | `\(a.format)` version \(a.formatVersion) |

            ## Intended use

            Classifying a 60-band sonar return (energies in [0, 1], as in the UCI data) as a rock (`R`) or a metal \
            cylinder (`M`), for teaching and for demonstrating an experiment-tracked ML life cycle. Use with \
            `sonarlab predict --model \(fileName(for: a)) --input FILE` (the manifest is checked first). Not for \
            any safety-relevant decision: there is no real mine-detection use here.

            ## Data

            UCI "Connectionist Bench (Sonar, Mines vs. Rocks)" (Gorman & Sejnowski, 1988; CC BY 4.0): 208 rows, \
            97 rocks and 111 mines. File `\(c.dataPath)`, data fingerprint `\(a.dataFingerprint)` (see `DATA_FINGERPRINT`)\(fileSHA). \
            Stratified split \(split); features standardised with the training split's mean and deviation, \
            which the model carries.

            ## Training

            \(optimizerText(a.configuration)) (lr \(a.configuration.learningRate), β1 \(a.configuration.beta1), \
            β2 \(a.configuration.beta2)), \(a.configuration.epochs) epochs, \
            \(a.configuration.batchSize.map { "batch \($0)" } ?? "full batch"), weight decay \(a.configuration.weightDecay), \
            seed \(a.configuration.seed)\(regularisationText(a.configuration)); kept epoch \(a.bestEpoch) \
            by `\(a.configuration.selection.rawValue)`. All values in `config.ini`.

            \(selectionText(c))

            ## Metrics

            | split | accuracy | macro-F1 | loss |
            | --- | --- | --- | --- |
            | train | \(f(a.train.accuracy)) | \(f(a.train.macroF1)) | \(f(a.train.loss)) |
            | validation | \(f(a.validation.accuracy)) | \(f(a.validation.macroF1)) | \(f(a.validation.loss)) |

            Validation confusion matrix (rows actual, columns predicted): R → \(cm[0][0]) R, \(cm[0][1]) M; \
            M → \(cm[1][0]) R, \(cm[1][1]) M.

            \(cv)

            ## Limits

            - 208 samples: a 52-row validation split moves by about 2 points per row; trust the \
            cross-validation figures more than the single split.
            - The data come from one laboratory set-up (a metal cylinder and rocks on a sandy sea floor, \
            Gorman & Sejnowski 1988); returns from other sonars, ranges or targets are out of distribution.
            - Inputs outside [0, 1] are refused; the model is not calibrated beyond its softmax.
            - Predictions are deterministic for a given file on one machine.

            ## Files

            `model.json`, `config.ini`, `metrics.json`, `DATA_FINGERPRINT`, `MODEL_CARD.md`, and \
            `MANIFEST.sha256` (check with `sha256sum -c MANIFEST.sha256` after unzipping).

            """
    }
}
