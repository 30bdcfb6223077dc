import Foundation
import SonarLabTestSupport
import Testing

@testable import Settings

/// `[tracking] stale_after`: seconds without a heartbeat before a `running` run shows as `stale`.
@Suite("[tracking] stale_after")
struct StaleAfterSettingTests {
    @Test func defaultsTo120SecondsAndIsReadFromTheFileAndTheEnvironment() throws {
        let dir = try TemporaryDirectory("stale-after")
        defer { dir.remove() }
        let file = try dir.write("config.ini", "[tracking]\nstale_after = 45\n")
        let none = try ConfigurationResolver.resolve(configFile: dir.file("missing.ini"), environment: [:])
        #expect(none.configuration.tracking.staleAfterSeconds == 120)
        let fromFile = try ConfigurationResolver.resolve(configFile: file, environment: [:])
        #expect(fromFile.configuration.tracking.staleAfterSeconds == 45)
        let fromEnvironment = try ConfigurationResolver.resolve(
            configFile: file, environment: ["SONARLAB_TRACKING_STALE_AFTER": "7.5"])
        #expect(fromEnvironment.configuration.tracking.staleAfterSeconds == 7.5)
    }

    @Test func valuesOutsideOneSecondToAWeekAreRefusedNamingThePlace() throws {
        let dir = try TemporaryDirectory("stale-after")
        defer { dir.remove() }
        for raw in ["0", "-1", "604801", "soon"] {
            let file = try dir.write("config.ini", "[tracking]\nstale_after = \(raw)\n")
            do {
                _ = try ConfigurationResolver.resolve(configFile: file, environment: [:])
                Issue.record("stale_after = \(raw) was accepted")
            } catch {
                #expect(error.place.hasSuffix("config.ini:2: [tracking] stale_after"), "\(error.place)")
            }
        }
    }
}
