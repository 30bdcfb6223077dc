import Foundation
import SonarLabTestSupport
import Testing

@testable import Settings

@Suite("INI documents")
struct INIDocumentTests {
    @Test("sections, keys, quotes, comments and CRLF are read with line numbers")
    func parse() throws {
        let doc = try INIDocument(
            text: "\u{FEFF}# top\r\n[a]\r\nx = 1\r\n; note\r\ny: \"two words\"\r\n\r\n[b]\r\nx=3", file: "t.ini")
        #expect(doc.entry(section: "a", key: "x")?.value == "1")
        #expect(doc.entry(section: "a", key: "x")?.line == 3)
        #expect(doc.entry(section: "a", key: "y")?.value == "two words")
        #expect(doc.entry(section: "b", key: "x")?.line == 8)
        #expect(doc.sections.map(\.name) == ["a", "b"])
    }

    @Test(
        "syntax errors name the file and line",
        arguments: [
            ("[a]\nnonsense\n", 2), ("x = 1\n", 1), ("[a]\n= 3\n", 2), ("[a\n", 1),
            ("[a]\nk = 1\nk = 2\n", 3), ("[a]\nk = 1\n[b]\nk = 1\n[a]\nk = 2\n", 6),
        ])
    func syntaxErrors(text: String, line: Int) {
        #expect(throws: SettingsError(.syntax, place: "t.ini:\(line)", reason: "")) {
            try INIDocument(text: text, file: "t.ini")
        }
    }

    @Test("a directory is not read as a config file, and the message says so")
    func directoryIsRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let error = #expect(throws: SettingsError.self) { try INIDocument(contentsOf: dir.path) }
        #expect(error?.description.contains("is a directory, not an INI file") == true, "\(String(describing: error))")
    }

    @Test("set rewrites a value in place and keeps comments; a new key or section is appended")
    func setKeepsComments() throws {
        var doc = try INIDocument(text: "# c1\n[a]\n# about x\nx = 1\n\n[b]\ny = 2\n", file: "t.ini")
        try doc.set(section: "a", key: "x", value: "5")
        try doc.set(section: "a", key: "z", value: "7")
        try doc.set(section: "c", key: "w", value: "9")
        #expect(doc.rendered() == "# c1\n[a]\n# about x\nx = 5\nz = 7\n\n[b]\ny = 2\n\n[c]\nw = 9\n")
    }

    @Test("set refuses a value with a line break and leaves the document alone (found by fuzz-ini)")
    func setRefusesLineBreaks() throws {
        let original = try INIDocument(text: "[data]\npath = a.csv\n", file: "t.ini")
        for value in ["x\nnot an ini line", "x\n[tracking]\nbackend = hbase", "x\r", "x\r\ny = 1"] {
            var doc = original
            #expect(throws: SettingsError(.syntax, place: "t.ini: [data] path", reason: "")) {
                try doc.set(section: "data", key: "path", value: value)
            }
            #expect(doc == original)
        }
    }
}

@Suite("Configuration precedence and validation")
struct ConfigurationTests {
    func withConfig(_ text: String, _ body: (String) throws -> Void) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try body(try dir.write("config.ini", text))
    }

    @Test("built-in defaults are the seed's values")
    func defaults() throws {
        let r = try ConfigurationResolver.resolve(configFile: "/nonexistent/config.ini", environment: [:])
        let c = r.configuration
        #expect(c.mlp.hiddenSize == 40 && c.mlp.learningRate == 0.01 && c.mlp.epochs == 80 && c.mlp.batchSize == 0)
        #expect(c.split.testSize == 0.25 && c.split.seed == 42)
        #expect(c.tracking.backend == .local)
        #expect(r.sources.isEmpty)
    }

    @Test("flags beat the environment, which beats the file, which beats the defaults")
    func precedence() throws {
        try withConfig("[mlp]\nepochs = 10\nlr = 0.5\nhidden_size = 8\n") { path in
            let r = try ConfigurationResolver.resolve(
                configFile: path, environment: ["SONARLAB_MLP_EPOCHS": "20", "SONARLAB_MLP_LR": "0.2"],
                flags: ["mlp.epochs": FlagValue(flag: "--epochs", value: "30")])
            #expect(r.configuration.mlp.epochs == 30)
            #expect(r.sources["mlp.epochs"] == .flag("--epochs"))
            #expect(r.configuration.mlp.learningRate == 0.2)
            #expect(r.sources["mlp.lr"] == .environment("SONARLAB_MLP_LR"))
            #expect(r.configuration.mlp.hiddenSize == 8)
            #expect(r.sources["mlp.hidden_size"] == .file(path, line: 4))
            #expect(r.configuration.mlp.seed == 42)
            #expect(r.sources["mlp.seed"] == nil)
        }
    }

    @Test("[data] header defaults to auto and takes true or false from flag, environment or file, in that order")
    func headerKey() throws {
        let defaults = try ConfigurationResolver.resolve(configFile: "/nonexistent", environment: [:])
        #expect(defaults.configuration.data.header == "auto")
        try withConfig("[data]\nheader = false\n") { path in
            let file = try ConfigurationResolver.resolve(configFile: path, environment: [:])
            #expect(file.configuration.data.header == "false" && file.sources["data.header"] == .file(path, line: 2))
            let env = try ConfigurationResolver.resolve(configFile: path, environment: ["SONARLAB_DATA_HEADER": "true"])
            #expect(env.configuration.data.header == "true")
            let flag = try ConfigurationResolver.resolve(
                configFile: path, environment: ["SONARLAB_DATA_HEADER": "true"],
                flags: ["data.header": FlagValue(flag: "--header", value: "auto")])
            #expect(flag.configuration.data.header == "auto" && flag.sources["data.header"] == .flag("--header"))
        }
        try withConfig("[data]\nheader = yes\n") { path in
            #expect(throws: SettingsError(.outOfRange, place: "\(path):2: [data] header", reason: "")) {
                try ConfigurationResolver.resolve(configFile: path, environment: [:])
            }
        }
    }

    struct BadValue: Sendable, CustomTestStringConvertible {
        let ini: String
        let code: SettingsError.Code
        let line: Int
        let phrase: String
        var testDescription: String { ini.replacingOccurrences(of: "\n", with: " ") }
    }

    @Test(
        "bad values in the file are refused naming file, line, section and key",
        arguments: [
            BadValue(ini: "[split]\ntest_size = 1.5\n", code: .outOfRange, line: 2, phrase: "1.5 is outside (0, 1)"),
            BadValue(ini: "[split]\ntest_size = 0\n", code: .outOfRange, line: 2, phrase: "outside"),
            BadValue(ini: "[mlp]\nlr = 0\n", code: .outOfRange, line: 2, phrase: "0 is outside (0, 10]"),
            BadValue(ini: "[mlp]\nlr = -1\n", code: .outOfRange, line: 2, phrase: "outside"),
            BadValue(ini: "[mlp]\nepochs = many\n", code: .wrongType, line: 2, phrase: "'many' is not a whole number"),
            BadValue(ini: "[mlp]\nepochs = 0\n", code: .outOfRange, line: 2, phrase: "outside 1…100000"),
            BadValue(
                ini: "[mlp]\nepochs = 99999999999999999999999\n", code: .outOfRange, line: 2,
                phrase: "99999999999999999999999 is outside 1…100000"),
            BadValue(ini: "[mlp]\nlr = nan\n", code: .wrongType, line: 2, phrase: "not a finite decimal number"),
            BadValue(ini: "[mlp]\nlr = 0x1p-7\n", code: .wrongType, line: 2, phrase: "'0x1p-7' is not a finite decimal"),
            BadValue(ini: "[mlp]\nlr = 1e\n", code: .wrongType, line: 2, phrase: "'1e' is not a finite decimal"),
            BadValue(ini: "[mlp]\nselect = best\n", code: .outOfRange, line: 2, phrase: "not one of"),
            BadValue(
                ini: "[mlp]\nepochs = 5\ndropout = 1\n", code: .outOfRange, line: 3,
                phrase: "[mlp] dropout: 1 is outside [0, 1)"),
            BadValue(ini: "[mlp]\ndropout = -0.1\n", code: .outOfRange, line: 2, phrase: "-0.1 is outside [0, 1)"),
            BadValue(
                ini: "[mlp]\ndropout = half\n", code: .wrongType, line: 2, phrase: "'half' is not a finite decimal number"),
            BadValue(
                ini: "[mlp]\ninput_noise = -1\n", code: .outOfRange, line: 2,
                phrase: "[mlp] input_noise: -1 is outside [0, 10]"),
            BadValue(ini: "[mlp]\ninput_noise = inf\n", code: .wrongType, line: 2, phrase: "not a finite decimal number"),
            BadValue(
                ini: "[mlp]\nensemble = 0\n", code: .outOfRange, line: 2, phrase: "[mlp] ensemble: 0 is outside 1…100"),
            BadValue(ini: "[mlp]\nensemble = 2.5\n", code: .wrongType, line: 2, phrase: "'2.5' is not a whole number"),
            BadValue(
                ini: "[mlp]\noptimizer = sgd\n", code: .outOfRange, line: 2,
                phrase: "[mlp] optimizer: 'sgd' is not one of adam, adamw"),
            BadValue(
                ini: "[tracking]\nbackend = mongo\n", code: .outOfRange, line: 2, phrase: "not one of local, hbase"),
            BadValue(ini: "[mlp]\nepoch = 3\n", code: .unknownKey, line: 2, phrase: "unknown key 'epoch' in [mlp]"),
            BadValue(ini: "[mpl]\nepochs = 3\n", code: .unknownSection, line: 1, phrase: "unknown section [mpl]"),
        ])
    func badFileValues(_ bad: BadValue) throws {
        try withConfig(bad.ini) { path in
            do {
                _ = try ConfigurationResolver.resolve(configFile: path, environment: [:])
                Issue.record("accepted")
            } catch let error as SettingsError {
                #expect(error.code == bad.code)
                #expect(error.place.hasPrefix("\(path):\(bad.line)"), "\(error.place)")
                #expect(error.description.contains(bad.phrase), "\(error.description)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test("the regularisation and ensemble keys default to off and read from the file and the environment")
    func regularisationKeys() throws {
        let defaults = try ConfigurationResolver.resolve(configFile: "/nonexistent/config.ini", environment: [:])
        #expect(defaults.configuration.mlp.optimizer == "adam" && defaults.configuration.mlp.dropout == 0)
        #expect(defaults.configuration.mlp.inputNoise == 0 && defaults.configuration.mlp.ensemble == 1)
        let table = Dictionary(uniqueKeysWithValues: defaults.table.map { ($0.key, $0.value) })
        #expect(table["mlp.optimizer"] == "adam" && table["mlp.dropout"] == "0")
        #expect(table["mlp.input_noise"] == "0" && table["mlp.ensemble"] == "1")
        try withConfig("[mlp]\noptimizer = adamw\ndropout = 0.25\ninput_noise = 0.1\nensemble = 5\n") { path in
            let r = try ConfigurationResolver.resolve(
                configFile: path, environment: ["SONARLAB_MLP_ENSEMBLE": "7"])
            #expect(r.configuration.mlp.optimizer == "adamw" && r.configuration.mlp.dropout == 0.25)
            #expect(r.configuration.mlp.inputNoise == 0.1 && r.configuration.mlp.ensemble == 7)
            #expect(r.sources["mlp.dropout"] == .file(path, line: 3))
            #expect(r.sources["mlp.ensemble"] == .environment("SONARLAB_MLP_ENSEMBLE"))
        }
        #expect(throws: SettingsError(.outOfRange, place: "environment SONARLAB_MLP_DROPOUT", reason: "")) {
            try ConfigurationResolver.resolve(configFile: "/nonexistent", environment: ["SONARLAB_MLP_DROPOUT": "1.5"])
        }
    }

    @Test("bad values from the environment and flags name the variable or flag")
    func badEnvironmentAndFlag() {
        #expect(throws: SettingsError(.wrongType, place: "environment SONARLAB_MLP_EPOCHS", reason: "")) {
            try ConfigurationResolver.resolve(configFile: "/nonexistent", environment: ["SONARLAB_MLP_EPOCHS": "x"])
        }
        #expect(throws: SettingsError(.outOfRange, place: "flag --lr", reason: "")) {
            try ConfigurationResolver.resolve(
                configFile: "/nonexistent", environment: [:], flags: ["mlp.lr": FlagValue(flag: "--lr", value: "0")])
        }
    }

    @Test(
        "a misspelt SONARLAB_ variable is refused naming it and the nearest known name",
        arguments: [
            ("SONARLAB_MLP_EPOHCS", "did you mean SONARLAB_MLP_EPOCHS?"),
            ("SONARLAB_MPL_EPOCHS", "did you mean SONARLAB_MLP_EPOCHS?"),
            ("SONARLAB_SPLIT_TESTSIZE", "did you mean SONARLAB_SPLIT_TEST_SIZE?"),
            ("SONARLAB_HBASE_PASWORD", "did you mean SONARLAB_HBASE_PASSWORD?"),
            ("SONARLAB_TRACKING_NOTHING_LIKE_IT", "known in [tracking]: SONARLAB_TRACKING_BACKEND"),
        ])
    func misspeltVariable(name: String, phrase: String) {
        do {
            _ = try ConfigurationResolver.resolve(configFile: "/nonexistent", environment: [name: "secret-ish-value"])
            Issue.record("\(name) was accepted")
        } catch {
            #expect(error.code == .unknownKey)
            #expect(error.place == "environment \(name)")
            #expect(error.description.contains(phrase), "\(error.description)")
            #expect(!error.description.contains("secret-ish-value"), "the value is never shown")
        }
    }

    @Test("configuration, connection, test and tooling variables and foreign SONARLAB_ names are accepted")
    func knownVariables() throws {
        var environment = [String: String]()
        for key in ConfigurationResolver.keys { environment[key.environmentName] = key.defaultValue }
        for name in ConfigurationResolver.otherEnvironmentNames { environment[name] = "x" }
        environment["SONARLAB_NOTES"] = "someone else's"
        environment["SONARLAB_HBASE_URL"] = "https://h:1"
        let r = try ConfigurationResolver.resolve(configFile: "/nonexistent", environment: environment)
        #expect(r.configuration == SonarLabConfiguration())
        #expect(r.sources["mlp.epochs"] == .environment("SONARLAB_MLP_EPOCHS"))
        // Everything the HBase connection reads under SONARLAB_ is known.
        #expect(HBaseConnectionSettings.environmentNames.isSubset(of: ConfigurationResolver.otherEnvironmentNames))
    }

    @Test("a misspelt section or key in config.ini gets the nearest known name")
    func fileSuggestions() throws {
        try withConfig("[mlp]\nepohcs = 3\n") { path in
            do {
                _ = try ConfigurationResolver.resolve(configFile: path, environment: [:])
                Issue.record("accepted")
            } catch {
                #expect("\(error)".contains("unknown key 'epohcs' in [mlp] (did you mean 'epochs'?)"))
            }
        }
        try withConfig("[trackin]\nbackend = local\n") { path in
            do {
                _ = try ConfigurationResolver.resolve(configFile: path, environment: [:])
                Issue.record("accepted")
            } catch {
                #expect("\(error)".contains("unknown section [trackin] (did you mean [tracking]?)"))
            }
        }
        try withConfig("[mlp]\nzzzzzzzz = 3\n") { path in
            do {
                _ = try ConfigurationResolver.resolve(configFile: path, environment: [:])
                Issue.record("accepted")
            } catch {
                #expect(!"\(error)".contains("did you mean"), "no suggestion when nothing is close")
            }
        }
    }

    @Test("a config file named explicitly must exist")
    func explicitFileMustExist() {
        #expect(throws: SettingsError(.unreadable, place: "/nonexistent/c.ini", reason: "")) {
            try ConfigurationResolver.resolve(configFile: "/nonexistent/c.ini", environment: [:], requireFile: true)
        }
    }

    @Test("save writes effective values in place and keeps comments; resolving never writes")
    func save() throws {
        try withConfig("# keep me\n[mlp]\n# epochs comment\nepochs = 10\n") { path in
            let before = try String(contentsOfFile: path, encoding: .utf8)
            let r = try ConfigurationResolver.resolve(
                configFile: path, environment: [:], flags: ["mlp.epochs": FlagValue(flag: "--epochs", value: "33")])
            #expect(try String(contentsOfFile: path, encoding: .utf8) == before)
            try r.save()
            let after = try String(contentsOfFile: path, encoding: .utf8)
            #expect(after.hasPrefix("# keep me\n[mlp]\n# epochs comment\nepochs = 33\n"))
            let again = try ConfigurationResolver.resolve(configFile: path, environment: [:])
            #expect(again.configuration.mlp.epochs == 33)
            #expect(again.configuration == r.configuration)
        }
    }

    @Test("the committed config.ini is valid and equals the built-in defaults")
    func committedConfig() throws {
        let r = try ConfigurationResolver.resolve(configFile: TestPaths.packageRoot + "/config.ini", environment: [:])
        #expect(r.configuration == SonarLabConfiguration())
        #expect(r.sources.count == ConfigurationResolver.keys.count)
    }
}

@Suite("Secrets and the HBase connection")
struct SecretsTests {
    @Test("a secret never prints itself")
    func redacted() {
        let s = Secret("hunter2")
        #expect("\(s)" == "<redacted>")
        #expect(String(reflecting: s) == "<redacted>")
        var dumped = ""
        dump(s, to: &dumped)
        #expect(!dumped.contains("hunter2"))
    }

    @Test("NAME wins over NAME_FILE; the file's trailing newline is dropped; a missing file names the variable only")
    func fromEnvironment() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = try dir.write("pw", "s3cret-from-file\n")
        #expect(try Secret.fromEnvironment("P", ["P_FILE": file])?.revealed == "s3cret-from-file")
        #expect(try Secret.fromEnvironment("P", ["P": "direct", "P_FILE": file])?.revealed == "direct")
        #expect(try Secret.fromEnvironment("P", [:]) == nil)
        #expect(throws: SettingsError(.secretUnreadable, place: "environment P_FILE", reason: "")) {
            try Secret.fromEnvironment("P", ["P_FILE": dir.file("missing")])
        }
    }

    @Test("valid connections are read from the environment")
    func valid() throws {
        let c = try HBaseConnectionSettings(environment: [
            "SONARLAB_HBASE_URL": "https://hbase.example:8443", "SONARLAB_HBASE_AUTH": "basic",
            "SONARLAB_HBASE_USER": "trainer", "SONARLAB_HBASE_PASSWORD": "pw-123",
        ])
        #expect(c.auth == .basic)
        #expect(c.password?.revealed == "pw-123")
        #expect(!c.description.contains("pw-123"))
        let local = try HBaseConnectionSettings(environment: ["SONARLAB_HBASE_URL": "http://127.0.0.1:9"])
        #expect(local.auth == .none)
        #expect(local.servicePrincipal == nil)
    }

    @Test(
        "SONARLAB_HBASE_SPN names the gateway's service principal",
        arguments: ["HTTP/gw.example@EXAMPLE.COM", "HTTP/gw.example", "HTTP@gw.example"])
    func servicePrincipal(spn: String) throws {
        let c = try HBaseConnectionSettings(environment: [
            "SONARLAB_HBASE_URL": "https://lb.example:8443", "SONARLAB_HBASE_AUTH": "kerberos",
            "SONARLAB_HBASE_SPN": spn,
        ])
        #expect(c.servicePrincipal == spn)
        try ConfigurationResolver.checkEnvironment(["SONARLAB_HBASE_SPN": spn])
    }

    @Test(
        "a SONARLAB_HBASE_SPN that is not a service principal is refused naming the variable",
        arguments: ["HTTP", "HTTP/", "/gw", "HTTP/gw@", "HTTP@", "a@b@c", "HTTP/gw example@R", "HTTP/gw\u{1B}[2J@R"])
    func badServicePrincipal(spn: String) {
        #expect(throws: SettingsError.self) {
            _ = try HBaseConnectionSettings(environment: [
                "SONARLAB_HBASE_URL": "https://lb.example:8443", "SONARLAB_HBASE_AUTH": "kerberos",
                "SONARLAB_HBASE_SPN": spn,
            ])
        }
        do {
            _ = try HBaseConnectionSettings.servicePrincipal(spn)
        } catch {
            #expect(error.place == "environment SONARLAB_HBASE_SPN")
        }
    }

    @Test(
        "bad connection settings are refused naming the variable, never the password",
        arguments: [
            (["SONARLAB_HBASE_URL": "not a url"], "environment SONARLAB_HBASE_URL"),
            ([:], "environment SONARLAB_HBASE_URL"),
            (["SONARLAB_HBASE_URL": "ftp://h:1"], "environment SONARLAB_HBASE_URL"),
            (["SONARLAB_HBASE_URL": "http://hbase.example:8080"], "environment SONARLAB_HBASE_URL"),
            (["SONARLAB_HBASE_URL": "https://h:1", "SONARLAB_HBASE_AUTH": "ntlm"], "environment SONARLAB_HBASE_AUTH"),
            (
                [
                    "SONARLAB_HBASE_URL": "https://h:1", "SONARLAB_HBASE_AUTH": "basic", "SONARLAB_HBASE_USER": "u",
                    "SONARLAB_HBASE_PASSWORD_FILE": "/nonexistent/pw",
                ], "environment SONARLAB_HBASE_PASSWORD_FILE"
            ),
            (["SONARLAB_HBASE_URL": "https://h:1", "SONARLAB_HBASE_AUTH": "basic"], "environment SONARLAB_HBASE_USER"),
            (
                [
                    "SONARLAB_HBASE_URL": "http://127.0.0.1:1", "SONARLAB_HBASE_AUTH": "basic",
                    "SONARLAB_HBASE_USER": "u",
                    "SONARLAB_HBASE_PASSWORD": "pw-xyz",
                ], "environment SONARLAB_HBASE_URL"
            ),
            (
                [
                    "SONARLAB_HBASE_URL": "https://h:1", "SONARLAB_HBASE_AUTH": "kerberos",
                    "KRB5_CLIENT_KTNAME": "/nonexistent/trainer.keytab",
                ], "environment KRB5_CLIENT_KTNAME"
            ),
        ])
    func refused(environment: [String: String], place: String) {
        do {
            _ = try HBaseConnectionSettings(environment: environment)
            Issue.record("accepted")
        } catch let error as SettingsError {
            #expect(error.place == place)
            #expect(!error.description.contains("pw-xyz"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
