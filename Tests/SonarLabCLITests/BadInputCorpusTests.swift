import Foundation
import SonarLabTestSupport
import Testing

/// The bad-input corpus (`Tests/Fixtures/bad/cases.json`, documented in `docs/bad-input.md`): every case runs
/// through the built `sonarlab` binary in an empty folder and must exit 2 with its place named and nothing
/// written; every accepted variant (`good`) must succeed.
struct InputCorpus: Decodable, Sendable {
    /// One run of `sonarlab` and what it must give.
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        /// Unique id, also the row of the table in docs/bad-input.md.
        let id: String
        /// `csv`, `scenario`, `config`, `environment` or `zip` (a model zip for `predict`, `test`, `export`).
        let input: String
        /// The case in words.
        let what: String
        /// The input file, relative to `Tests/Fixtures` (none for some environment cases).
        let file: String?
        /// Arguments; `{file}`, `{data}`, `{fixtures}`, `{model}` and `{cwd}` are replaced.
        let args: [String]
        /// Environment variables to set (the inherited `SONARLAB_*` and `KRB5*` ones are removed first).
        let env: [String: String]?
        /// The expected exit status.
        let exit: Int32
        /// Fragments standard error must contain (the place: file, line, field, or the variable).
        let stderr: [String]
        /// Fragments standard output must contain (accepted variants).
        let stdout: [String]?
        /// A value that must appear in neither output (a secret); `must_not_print` in the manifest.
        let mustNotPrint: String?

        var testDescription: String { id }

        enum CodingKeys: String, CodingKey {
            case id, input, what, file, args, env, exit, stderr, stdout
            case mustNotPrint = "must_not_print"
        }
    }

    /// The inputs that must be refused.
    let cases: [Case]
    /// The accepted variants (CRLF, byte-order mark, no final newline, …).
    let good: [Case]

    static let path = TestPaths.fixtures + "/bad/cases.json"

    /// The corpus, or `nil` when the manifest is missing or malformed (``manifestIsComplete()`` fails then).
    static let shared: InputCorpus? = try? JSONDecoder().decode(
        InputCorpus.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
}

/// A model trained once for the accepted scenario variants (`{model}`).
///
/// `nil` when training failed. Its folder is removed when the test process exits.
let corpusModel: String? = {
    let dir = NSTemporaryDirectory() + "sonarlab-corpus-model-\(getpid())"
    guard SonarLabProcess.isAvailable,
        (try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)) != nil
    else { return nil }
    atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "sonarlab-corpus-model-\(getpid())") }
    let run = try? RunningProcess(
        ["train", "--data", TestPaths.sonarData, "--epochs", "20", "--json"], in: dir,
        removingInherited: ["SONARLAB_", "KRB5"])
    guard let result = run?.waitBlocking(timeout: 120), result.status == 0,
        let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
        let model = object["model_path"] as? String
    else { return nil }
    return model.hasPrefix("/") ? model : dir + "/" + model
}()

/// Every file and folder under `root` (relative paths, with sizes), for before/after comparisons.
func snapshot(_ root: String) -> [String: Int] {
    var out = [String: Int]()
    guard let walker = FileManager.default.enumerator(atPath: root) else { return out }
    while let relative = walker.nextObject() as? String {
        let size = (try? FileManager.default.attributesOfItem(atPath: root + "/" + relative)[.size] as? Int) ?? -1
        out[relative] = size
    }
    return out
}

@Suite("bad-input corpus: every case exits 2 naming the place, and writes nothing")
struct BadInputCorpusTests {
    static let cases = InputCorpus.shared?.cases ?? []
    static let good = InputCorpus.shared?.good ?? []

    /// Runs one case in a fresh empty folder; returns the result and what the folder holds afterwards.
    static func run(_ c: InputCorpus.Case, model: String? = nil) async throws -> (ProcessResult, [String: Int], String) {
        let dir = try TemporaryDirectory("sonarlab-corpus")
        defer { dir.remove() }
        func expand(_ text: String) -> String {
            var t = text.replacingOccurrences(of: "{file}", with: c.file.map { TestPaths.fixtures + "/" + $0 } ?? "")
            t = t.replacingOccurrences(of: "{data}", with: TestPaths.sonarData)
            t = t.replacingOccurrences(of: "{fixtures}", with: TestPaths.fixtures)
            t = t.replacingOccurrences(of: "{model}", with: model ?? "")
            return t.replacingOccurrences(of: "{cwd}", with: dir.path)
        }
        let before = snapshot(dir.path)
        #expect(before.isEmpty)
        let process = try RunningProcess(
            c.args.map(expand), in: dir.path, environment: (c.env ?? [:]).mapValues(expand),
            removingInherited: ["SONARLAB_", "KRB5"])
        let result = try #require(await process.wait(timeout: 60), "\(c.id): sonarlab did not finish within 60 s")
        return (result, snapshot(dir.path), dir.path)
    }

    @Test("the manifest lists every corpus file, each input kind the issue names, and the docs table has every case")
    func manifestIsComplete() throws {
        let corpus = try #require(InputCorpus.shared, "cannot read \(InputCorpus.path)")
        let all = corpus.cases + corpus.good
        #expect(Set(all.map(\.id)).count == all.count, "ids are unique")
        let counts = Dictionary(grouping: corpus.cases, by: \.input).mapValues(\.count)
        #expect(counts["csv"] ?? 0 >= 11 && counts["scenario"] ?? 0 >= 5, "\(counts)")
        #expect(counts["config"] ?? 0 >= 5 && counts["environment"] ?? 0 >= 5, "\(counts)")
        #expect(counts["zip"] ?? 0 >= 10, "\(counts)")
        #expect(Set(corpus.good.map(\.input)) == ["csv", "scenario", "config"])
        for c in corpus.cases {
            #expect(c.exit == 2, "\(c.id)")
            #expect(!c.stderr.isEmpty, "\(c.id) names no expected message")
        }
        // Every file in the corpus folders is a case, and every case's file exists.
        var onDisk = Set<String>()
        let folders = ["bad/csv", "bad/scenario", "bad/config", "bad/env", "bad/zip", "bad/model"]
        for folder in folders + ["good/csv", "good/scenario", "good/config"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: TestPaths.fixtures + "/" + folder) {
                onDisk.insert(folder + "/" + name)
            }
        }
        let referenced = Set(all.compactMap(\.file))
        #expect(onDisk.subtracting(referenced).isEmpty, "files without a case: \(onDisk.subtracting(referenced))")
        #expect(referenced.subtracting(onDisk).isEmpty, "cases without a file: \(referenced.subtracting(onDisk))")
        let doc = try String(contentsOfFile: TestPaths.packageRoot + "/docs/bad-input.md", encoding: .utf8)
        for c in all { #expect(doc.contains("`\(c.id)`"), "docs/bad-input.md has no row for \(c.id)") }
    }

    @Test("a bad input exits 2 with the place named and nothing written", arguments: cases)
    func refused(_ c: InputCorpus.Case) async throws {
        guard try requireBinary() else { return }
        let before = try c.file.map { try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixtures + "/" + $0)) }
        let (result, after, _) = try await Self.run(c)
        #expect(result.status == c.exit, "\(c.id): exit \(result.status)\n\(result.stderr)")
        for fragment in c.stderr {
            #expect(result.stderr.contains(fragment), "\(c.id): no \"\(fragment)\" in:\n\(result.stderr)")
        }
        #expect(result.stdout.isEmpty, "\(c.id) printed to standard output:\n\(result.stdout)")
        #expect(after.isEmpty, "\(c.id) wrote \(after.keys.sorted())")
        if let secret = c.mustNotPrint {
            #expect(!result.stderr.contains(secret) && !result.stdout.contains(secret), "\(c.id) echoed the secret")
        }
        if let file = c.file {
            let now = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixtures + "/" + file))
            #expect(now == before, "\(c.id) changed its input file")
        }
    }

    @Test("an accepted variant (CRLF, byte-order mark, no final newline, blank lines) succeeds", arguments: good)
    func accepted(_ c: InputCorpus.Case) async throws {
        guard try requireBinary() else { return }
        var model: String? = nil
        if c.args.contains(where: { $0.contains("{model}") }) {
            model = corpusModel
            try #require(model != nil, "could not train the model for \(c.id)")
        }
        let (result, after, _) = try await Self.run(c, model: model)
        #expect(result.status == c.exit, "\(c.id): exit \(result.status)\n\(result.stderr)")
        for fragment in c.stdout ?? [] {
            #expect(result.stdout.contains(fragment), "\(c.id): no \"\(fragment)\" in:\n\(result.stdout)")
        }
        for fragment in c.stderr {
            #expect(result.stderr.contains(fragment), "\(c.id): no \"\(fragment)\" in:\n\(result.stderr)")
        }
        if c.args.first == "train" { #expect(after.keys.contains { $0.hasSuffix("model.json") }, "\(c.id)") }
    }
}
