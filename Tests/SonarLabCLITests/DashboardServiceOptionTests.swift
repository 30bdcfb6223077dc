import Foundation
import Testing

@testable import SonarLabCLI

@Suite("sonarlab dashboard --service")
struct DashboardServiceOptionTests {
    @Test("--service wins over SONARLAB_SERVE_URL; neither means no service")
    func precedence() throws {
        let environment = ["SONARLAB_SERVE_URL": "http://localhost:9001"]
        #expect(try DashboardCommand.serviceURL(flag: nil, environment: [:]) == nil)
        #expect(try DashboardCommand.serviceURL(flag: nil, environment: environment)?.port == 9001)
        #expect(
            try DashboardCommand.serviceURL(flag: "https://serve.example:8443", environment: environment)?.port == 8443)
    }

    @Test("a value that is not an http(s) URL is refused, naming the flag or variable, with control characters escaped")
    func refused() {
        for (flag, environment, place) in [
            ("ftp://x", [String: String](), "--service"), ("nohost", [:], "--service"),
            (nil, ["SONARLAB_SERVE_URL": "\u{1B}[2J"], "environment SONARLAB_SERVE_URL"),
        ] as [(String?, [String: String], String)] {
            do {
                _ = try DashboardCommand.serviceURL(flag: flag, environment: environment)
                Issue.record("accepted \(String(describing: flag)) \(environment)")
            } catch {
                let text = "\(error)"
                #expect(text.contains(place) && text.contains("not a service URL"), "\(text)")
                #expect(!text.unicodeScalars.contains("\u{1B}"))
            }
        }
    }
}
