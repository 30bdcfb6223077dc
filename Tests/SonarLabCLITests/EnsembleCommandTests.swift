import Foundation
import SonarLabTestSupport
import Testing

@Suite("train and predict with an ensemble, dropout, input noise and AdamW")
struct EnsembleCommandTests {
    @Test("the flags reach the model: K members in model.json, predict uses them, bad values exit 2 naming the flag")
    func ensembleRun() async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        defer { ws.dir.remove() }
        let train = try await SonarLabProcess.run(
            [
                "train", "--config", ws.config, "--epochs", "5", "--ensemble", "3", "--dropout", "0.1",
                "--input-noise", "0.05", "--optimizer", "adamw", "--weight-decay", "0.01", "--headless",
            ], in: ws.dir.path, environment: [:])
        #expect(train.status == 0, "\(train.stderr)")
        let experiments = try FileManager.default.contentsOfDirectory(atPath: ws.dir.file("experiments"))
        let folder = try #require(experiments.first)
        let model = ws.dir.file("experiments/\(folder)/model.json")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model))) as? [String: Any])
        let configuration = try #require(object["configuration"] as? [String: Any])
        #expect(configuration["ensemble"] as? Int == 3 && configuration["optimizer"] as? String == "adamw")
        #expect(configuration["dropout"] as? Double == 0.1 && configuration["inputNoise"] as? Double == 0.05)
        let members = (object["model"] as? [String: Any])?["additionalMembers"] as? [Any]
        #expect(members?.count == 2)
        let predict = try await SonarLabProcess.run(
            ["predict", "--config", ws.config, "--model", model, "--input", TestPaths.sonarData, "--json"],
            in: ws.dir.path, environment: [:])
        #expect(predict.status == 0, "\(predict.stderr)")
        #expect((try json(predict.stdout)["predictions"] as? [Any])?.count == 208)

        for (flag, value, message) in [
            ("--ensemble", "0", "flag --ensemble: 0 is outside 1…100"),
            ("--dropout", "1", "flag --dropout: 1 is outside [0, 1)"),
            ("--optimizer", "sgd", "flag --optimizer: 'sgd' is not one of adam, adamw"),
        ] {
            let refused = try await SonarLabProcess.run(
                ["train", "--config", ws.config, flag, value, "--headless"], in: ws.dir.path, environment: [:])
            #expect(refused.status == 2)
            #expect(refused.stderr.contains(message), "\(refused.stderr)")
        }
    }
}
