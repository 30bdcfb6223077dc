public import Engine
public import Foundation

/// The generated Markdown report of the latest runs (`sonarlab report`) and its SVG training curves.
///
/// Pure: everything it shows is passed in, so a test can build one without a store or a machine probe.
public struct RunReport: Sendable {
    /// Where the report was generated.
    public struct Environment: Sendable, Equatable {
        /// Swift toolchain as `swift --version` prints it: `Swift version 6.3.1 (swift-6.3.1-RELEASE)`.
        public var swift: String
        /// Operating system and kernel: `Debian GNU/Linux 12 (bookworm), kernel 6.1.0`.
        public var operatingSystem: String
        /// CPU model and logical core count.
        public var cpu: String

        /// Creates an environment description.
        public init(swift: String, operatingSystem: String, cpu: String) {
            self.swift = swift
            self.operatingSystem = operatingSystem
            self.cpu = cpu
        }

        /// Reads this machine: `swift --version` (or the compiler version this build used), `/etc/os-release`
        /// and `/proc/cpuinfo`, with portable fall-backs.
        public static func current() -> Environment {
            let swift =
                Self.firstLine(ofCommand: "swift", ["--version"]) ?? "Swift \(compiledSwift) (compiler of this build)"
            var os = ProcessInfo.processInfo.operatingSystemVersionString
            if let release = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8),
                let line = release.split(separator: "\n").first(where: { $0.hasPrefix("PRETTY_NAME=") })
            {
                os = line.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            #if arch(x86_64)
                let arch = "x86_64"
            #elseif arch(arm64)
                let arch = "arm64"
            #else
                let arch = "unknown architecture"
            #endif
            var cpu = arch
            if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
                let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
                let colon = line.firstIndex(of: ":")
            {
                cpu = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) + ", " + arch
            }
            cpu += ", \(ProcessInfo.processInfo.activeProcessorCount) logical cores"
            return Environment(swift: swift, operatingSystem: os + ", kernel " + kernel(), cpu: cpu)
        }

        static var compiledSwift: String {
            #if compiler(>=6.3)
                return "6.3 or newer"
            #elseif compiler(>=6.2)
                return "6.2"
            #else
                return "6.0 or 6.1"
            #endif
        }

        static func kernel() -> String {
            var name = utsname()
            uname(&name)
            return withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }

        static func firstLine(ofCommand command: String, _ arguments: [String]) -> String? {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [command] + arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            do { try process.run() } catch { return nil }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { return nil }
            return String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init)
        }
    }

    /// The data file and the split.
    public struct DataSummary: Sendable, Equatable {
        /// The data file's path.
        public var path: String
        /// SHA-256 of the file.
        public var fingerprint: String
        /// Rows per class.
        public var rocks: Int
        /// Rows per class.
        public var mines: Int
        /// Validation fraction.
        public var testSize: Double
        /// Split seed.
        public var seed: UInt64
        /// Training rows.
        public var trainRows: Int
        /// Validation rows.
        public var validationRows: Int

        /// Creates a data summary.
        public init(
            path: String, fingerprint: String, rocks: Int, mines: Int, testSize: Double, seed: UInt64, trainRows: Int,
            validationRows: Int
        ) {
            self.path = path
            self.fingerprint = fingerprint
            self.rocks = rocks
            self.mines = mines
            self.testSize = testSize
            self.seed = seed
            self.trainRows = trainRows
            self.validationRows = validationRows
        }
    }

    /// What `sonarlab serve` answered for the trained model, from the predictions it recorded
    /// (`[serve] record = local` or `hbase`).
    public struct ServiceSummary: Sendable, Equatable {
        /// The model version (the training experiment id).
        public var modelID: String
        /// Where the predictions were read, e.g. `local SQLite …/predictions.sqlite` or `HBase sonarlab:predictions`.
        public var sources: [String]
        /// Rows answered.
        public var rows: Int
        /// Inference requests answered (distinct request ids).
        public var requests: Int
        /// Rows labelled rock (R) and mine (M).
        public var rocks: Int, mines: Int
        /// Mean P(mine) over the rows.
        public var meanMineProbability: Double
        /// The first and the last answer.
        public var first: Date, last: Date
        /// Rows per caller (a principal or token name; `anonymous` with `[serve] auth = none`), most first.
        public var callers: [CallerRows]

        /// One caller's share of the answers.
        public struct CallerRows: Sendable, Equatable {
            /// The principal or token name, or `anonymous`.
            public var name: String
            /// Rows answered to it.
            public var rows: Int
        }

        /// Summarises the served rows among `predictions` (rows that carry a features fingerprint: `sonarlab serve`
        /// records one, `predict --store` does not); `nil` when there is none.
        /// - Parameters:
        ///   - predictions: Recorded predictions of one model, from any store.
        ///   - modelID: The model's id.
        ///   - sources: Where they were read.
        public init?(predictions: [PredictionRecord], modelID: String, sources: [String]) {
            let served = predictions.filter { $0.modelID == modelID && $0.featuresSHA256 != nil }
            guard let firstTime = served.map(\.predictedAt).min(), let lastTime = served.map(\.predictedAt).max()
            else { return nil }
            self.modelID = modelID
            self.sources = sources
            rows = served.count
            requests = Set(served.map { $0.inputReference.split(separator: "/").dropLast().joined(separator: "/") }).count
            rocks = served.filter { $0.label == .rock }.count
            mines = served.count - rocks
            meanMineProbability =
                served.map { $0.mineProbability ?? ($0.label == .mine ? $0.probability : 1 - $0.probability) }
                .reduce(0, +) / Double(served.count)
            first = firstTime
            last = lastTime
            var byCaller: [String: Int] = [:]
            for record in served { byCaller[record.caller ?? "anonymous", default: 0] += 1 }
            callers = byCaller.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { CallerRows(name: $0.key, rows: $0.value) }
        }
    }

    /// When the report was made.
    public var generatedAt: Date
    /// The machine.
    public var environment: Environment
    /// The data and split.
    public var data: DataSummary
    /// The latest finished train run, with its epochs.
    public var training: Experiment?
    /// The latest finished cv run.
    public var crossValidation: Experiment?
    /// The last functional test results.
    public var tests: FunctionalTestResults?
    /// Where the experiments are recorded (for the text).
    public var storeLocation: String
    /// The model service's answers for the trained model, when it recorded any.
    public var service: ServiceSummary?

    /// Creates a report.
    public init(
        generatedAt: Date, environment: Environment, data: DataSummary, training: Experiment?,
        crossValidation: Experiment?, tests: FunctionalTestResults?, storeLocation: String,
        service: ServiceSummary? = nil
    ) {
        self.service = service
        self.generatedAt = generatedAt
        self.environment = environment
        self.data = data
        self.training = training
        self.crossValidation = crossValidation
        self.tests = tests
        self.storeLocation = storeLocation
    }

    /// The three chart files, written next to the report.
    public static let chartNames = ["report-loss.svg", "report-accuracy.svg", "report-f1.svg"]

    /// Writes the report and its charts.
    /// - Parameter path: the Markdown file (e.g. `docs/REPORT.md`); the SVGs go into the same folder.
    /// - Returns: the paths written, report first.
    /// - Throws: a file-system error.
    @discardableResult
    public func write(to path: String) throws -> [String] {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        var written = [path]
        try markdown().write(toFile: path, atomically: true, encoding: .utf8)
        for (name, svg) in charts() {
            let chartPath = folder.isEmpty ? name : (folder as NSString).appendingPathComponent(name)
            try svg.write(toFile: chartPath, atomically: true, encoding: .utf8)
            written.append(chartPath)
        }
        return written
    }

    /// The SVG charts by file name (none without a train run's epochs).
    public func charts() -> [(name: String, svg: String)] {
        guard let epochs = training?.epochs, !epochs.isEmpty else { return [] }
        let x = epochs.map { Double($0.epoch) }
        let kept = training?.result?.bestEpoch.map(Double.init)
        let label = kept.map { "kept epoch \(Int($0))" }
        return [
            (
                Self.chartNames[0],
                SVGLineChart(
                    title: "Loss (cross-entropy)", x: x,
                    series: [
                        .init(name: "train", color: "#1f77b4", values: epochs.map(\.train.loss)),
                        .init(name: "validation", color: "#d62728", values: epochs.map(\.validation.loss)),
                    ], marker: kept, markerLabel: label
                ).render()
            ),
            (
                Self.chartNames[1],
                SVGLineChart(
                    title: "Accuracy", x: x,
                    series: [
                        .init(name: "train", color: "#1f77b4", values: epochs.map(\.train.accuracy)),
                        .init(name: "validation", color: "#d62728", values: epochs.map(\.validation.accuracy)),
                    ], yRange: 0...1, marker: kept, markerLabel: label
                ).render()
            ),
            (
                Self.chartNames[2],
                SVGLineChart(
                    title: "Macro-F1", x: x,
                    series: [
                        .init(name: "train", color: "#1f77b4", values: epochs.map(\.train.macroF1)),
                        .init(name: "validation", color: "#d62728", values: epochs.map(\.validation.macroF1)),
                    ], yRange: 0...1, marker: kept, markerLabel: label
                ).render()
            ),
        ]
    }

    /// The Markdown text.
    public func markdown() -> String {
        let f = { (x: Double) in PlainNumber.format("%.4f", x) }
        let iso = ISO8601DateFormatter()
        var md = """
            # SonarLab report

            Generated by `sonarlab report` on \(iso.string(from: generatedAt)) from the runs recorded in \
            \(storeLocation). Regenerate with `sonarlab train && sonarlab cv && sonarlab test && sonarlab report`.

            ## Environment

            | | |
            | --- | --- |
            | Swift | \(environment.swift) |
            | OS | \(environment.operatingSystem) |
            | CPU | \(environment.cpu) |

            ## Data and split

            `\(data.path)`: \(data.rocks + data.mines) rows, \(data.rocks) rocks (R) and \(data.mines) mines (M), \
            sha256 `\(data.fingerprint)`. Stratified split (test_size \(data.testSize), seed \(data.seed)): \
            \(data.trainRows) training rows, \(data.validationRows) validation rows; features standardised with the \
            training split's mean and deviation only.


            """
        md += "## Training\n\n"
        if let t = training, let r = t.result {
            let params = [
                "mlp.hidden_size", "mlp.lr", "mlp.epochs", "mlp.batch_size", "mlp.weight_decay", "mlp.seed",
                "mlp.select",
            ].compactMap { k in t.parameters[k].map { "`\(k.dropFirst(4)) = \($0)`" } }
            md += "Experiment `\(t.id)` \"\(t.name)\", \(t.status.rawValue), \(t.epochs.count) epochs"
            md += params.isEmpty ? ".\n\n" : ": " + params.joined(separator: ", ") + ".\n\n"
            if !t.epochs.isEmpty {
                md +=
                    "![loss](\(Self.chartNames[0]))\n![accuracy](\(Self.chartNames[1]))\n![macro-F1](\(Self.chartNames[2]))\n\n"
                md += "Blue: training split, red: validation split, per epoch; the dashed line is the kept epoch.\n\n"
            }
            md +=
                "Kept epoch \(r.bestEpoch.map(String.init) ?? "-"):\n\n| split | accuracy | macro-F1 | loss |\n| --- | --- | --- | --- |\n"
            if let tr = r.train { md += "| train | \(f(tr.accuracy)) | \(f(tr.macroF1)) | \(f(tr.loss)) |\n" }
            if let v = r.validation { md += "| validation | \(f(v.accuracy)) | \(f(v.macroF1)) | \(f(v.loss)) |\n" }
            if let c = r.validationConfusion?.counts {
                md +=
                    "\nValidation confusion matrix (rows actual, columns predicted):\n\n| | R | M |\n| --- | --- | --- |\n"
                md += "| R | \(c[0][0]) | \(c[0][1]) |\n| M | \(c[1][0]) | \(c[1][1]) |\n"
            }
        } else {
            md += "No finished training run is recorded yet (`sonarlab train`).\n"
        }
        md += "\n## Cross-validation\n\n"
        if let cvRun = crossValidation, let cv = cvRun.result?.crossValidation {
            md +=
                "Experiment `\(cvRun.id)`: repeated stratified \(cv.folds)-fold, \(cv.repeats) repeats, \(cv.fits) fits; "
            md += "each held-out fold is scored with the last epoch's model.\n\n"
            md += "| metric | mean | sd |\n| --- | --- | --- |\n"
            md +=
                "| accuracy | \(f(cv.accuracyMean)) | \(f(cv.accuracySD)) |\n| macro-F1 | \(f(cv.f1Mean)) | \(f(cv.f1SD)) |\n"
        } else {
            md += "No finished cross-validation run is recorded yet (`sonarlab cv`).\n"
        }
        md += "\n## Functional tests\n\n"
        if let tests {
            md += "`sonarlab test` on \(iso.string(from: tests.startedAt)), model `\(tests.modelPath)` (experiment "
            md +=
                "`\(tests.modelExperimentID)`), scenarios in `\(tests.scenariosSource)`: **\(tests.passedCount) passed, "
            md += "\(tests.failedCount) failed**.\n\n"
            md += "| scenario | rows | accuracy | macro-F1 | threshold | confusion [[RR, RM], [MR, MM]] | result |\n"
            md += "| --- | --- | --- | --- | --- | --- | --- |\n"
            for s in tests.scenarios {
                var threshold = [String]()
                if let a = s.minAccuracy { threshold.append("acc ≥ \(a)") }
                if let b = s.minF1 { threshold.append("F1 ≥ \(b)") }
                if let e = s.expectError { threshold.append("refused: \(e)") }
                let c = s.confusionMatrix.map { "[[\($0[0][0]), \($0[0][1])], [\($0[1][0]), \($0[1][1])]]" } ?? "-"
                md += "| \(s.name) | \(s.rows) | \(s.accuracy.map(f) ?? "-") | \(s.f1.map(f) ?? "-") | "
                md += "\(threshold.joined(separator: ", ")) | \(c) | \(s.status.rawValue) |\n"
            }
        } else {
            md += "No functional test has run yet (`sonarlab test`).\n"
        }
        md += "\n## Model service\n\n"
        if let service {
            let requests = service.requests == 1 ? "1 inference request" : "\(service.requests) inference requests"
            let rows = service.rows == 1 ? "1 row" : "\(service.rows) rows"
            md += "`sonarlab serve` answered **\(rows) in \(requests)** for model "
            md += "`\(service.modelID)` between \(iso.string(from: service.first)) and \(iso.string(from: service.last)) "
            md += "(read from \(service.sources.joined(separator: " and "))): \(service.rocks) rocks (R), \(service.mines) "
            md += "mines (M), mean P(mine) \(f(service.meanMineProbability)).\n\n| caller | rows |\n| --- | --- |\n"
            for caller in service.callers { md += "| `\(caller.name)` | \(caller.rows) |\n" }
        } else {
            md += "No prediction served by `sonarlab serve` is recorded for the trained model (`[serve] record = local` "
            md += "or `hbase` records each answer).\n"
        }
        md += """

            ## CI and CD

            - **CI** ([`.github/workflows/ci.yml`](../.github/workflows/ci.yml)) runs on every push and pull request: \
            on a clean checkout it runs [`.ci/run`](../.ci/run), which is `make test` — it installs the Debian \
            packages it needs, builds, runs every swift-testing suite (unit, in-process command and binary tests, \
            the functional scenarios included) and fails below 85 % line coverage; it then builds the image and \
            pushes it with the registry credentials kept in the repository's secrets.
            - **CD** ([`.github/workflows/cd.yml`](../.github/workflows/cd.yml)) runs after CI, on demand and on a \
            schedule: it pulls the pushed image, starts the containers with a real HBase, trains, runs \
            `sonarlab test --junit` on the functional scenarios against real HBase, and publishes the JUnit \
            results, the model zip (`sonarlab export`) and this report.

            """
        return md
    }
}

/// A small line chart as plain SVG (polylines, axes, ticks, legend); no scripts, no external files.
public struct SVGLineChart: Sendable {
    /// One line.
    public struct Series: Sendable {
        /// Legend text.
        public var name: String
        /// Stroke colour such as `#1f77b4`.
        public var color: String
        /// One value per x.
        public var values: [Double]

        /// Creates a series.
        public init(name: String, color: String, values: [Double]) {
            self.name = name
            self.color = color
            self.values = values
        }
    }

    /// Chart title.
    public var title: String
    /// The x values (shared by every series).
    public var x: [Double]
    /// The lines.
    public var series: [Series]
    /// The y range; `nil` fits the data (from 0).
    public var yRange: ClosedRange<Double>?
    /// An x value to mark with a dashed vertical line (the kept epoch), or `nil`.
    public var marker: Double?
    /// The marker's label.
    public var markerLabel: String?
    /// Size in pixels.
    public var width = 640.0, height = 320.0

    /// Creates a chart.
    public init(
        title: String, x: [Double], series: [Series], yRange: ClosedRange<Double>? = nil, marker: Double? = nil,
        markerLabel: String? = nil
    ) {
        self.title = title
        self.x = x
        self.series = series
        self.yRange = yRange
        self.marker = marker
        self.markerLabel = markerLabel
    }

    /// The SVG document.
    public func render() -> String {
        let left = 56.0, right = 16.0, top = 36.0, bottom = 40.0
        let plotW = width - left - right, plotH = height - top - bottom
        let finite = series.flatMap(\.values).filter(\.isFinite)
        var range = yRange ?? 0...max(finite.max() ?? 1, 1e-9)
        if range.upperBound <= range.lowerBound { range = range.lowerBound...(range.lowerBound + 1) }
        let xMin = x.min() ?? 0, xMax = max(x.max() ?? 1, xMin + 1)
        func px(_ v: Double) -> Double { left + (v - xMin) / (xMax - xMin) * plotW }
        func py(_ v: Double) -> Double {
            top + plotH - (min(max(v, range.lowerBound), range.upperBound) - range.lowerBound)
                / (range.upperBound - range.lowerBound) * plotH
        }
        func n(_ v: Double) -> String { PlainNumber.format("%.1f", v) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
        s += "viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(n(left))\" y=\"20\" font-size=\"14\">"
        s += FunctionalTestResults.escape(title) + "</text>\n"
        for i in 0...4 {
            let v = range.lowerBound + Double(i) / 4 * (range.upperBound - range.lowerBound)
            let y = py(v)
            s += "<line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(left + plotW))\" y2=\"\(n(y))\" stroke=\"#ddd\"/>\n"
            s +=
                "<text x=\"\(n(left - 6))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(PlainNumber.format("%.2f", v))</text>\n"
        }
        for i in 0...4 {
            let v = xMin + Double(i) / 4 * (xMax - xMin)
            s +=
                "<text x=\"\(n(px(v)))\" y=\"\(n(top + plotH + 16))\" text-anchor=\"middle\">\(Int(v.rounded()))</text>\n"
        }
        s += "<text x=\"\(n(left + plotW / 2))\" y=\"\(n(height - 6))\" text-anchor=\"middle\">epoch</text>\n"
        s +=
            "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(plotW))\" height=\"\(n(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
        for (index, line) in series.enumerated() {
            let points = zip(x, line.values).filter { $0.1.isFinite }.map { "\(n(px($0.0))),\(n(py($0.1)))" }
            s +=
                "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>\n"
            // Legend above the plot, right-aligned, one entry per series.
            let lx = left + plotW - Double(series.count - index) * 90
            s += "<line x1=\"\(n(lx))\" y1=\"\(n(top - 8))\" x2=\"\(n(lx + 16))\" y2=\"\(n(top - 8))\" "
            s += "stroke=\"\(line.color)\" stroke-width=\"2\"/>\n"
            s += "<text x=\"\(n(lx + 20))\" y=\"\(n(top - 4))\">\(FunctionalTestResults.escape(line.name))</text>\n"
        }
        if let marker, let markerLabel, (xMin...xMax).contains(marker) {
            s += "<line x1=\"\(n(px(marker)))\" y1=\"\(n(top))\" x2=\"\(n(px(marker)))\" y2=\"\(n(top + plotH))\" "
            s += "stroke=\"#555\" stroke-dasharray=\"4 3\"/>\n"
            s += "<text x=\"\(n(px(marker) + 4))\" y=\"\(n(top + plotH - 6))\" fill=\"#555\">"
            s += FunctionalTestResults.escape(markerLabel) + "</text>\n"
        }
        s += "</svg>\n"
        return s
    }
}
