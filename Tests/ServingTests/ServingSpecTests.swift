import Foundation
import Hummingbird
import Serving
import SonarLabTestSupport
import Testing

/// docs/openapi.yaml and the router describe the same routes.
@Suite("model service OpenAPI document")
struct ServingSpecTests {
    /// `METHOD path` of every operation in docs/openapi.yaml (paths at two spaces, methods at four).
    static func specRoutes() throws -> Set<String> {
        let text = try String(contentsOfFile: TestPaths.packageRoot + "/docs/openapi.yaml", encoding: .utf8)
        var routes = Set<String>()
        var path: String?
        var inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, !line.hasPrefix(" "), !line.isEmpty { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     ") {
                let key = line.trimmingCharacters(in: .whitespaces).split(separator: ":").first.map(String.init) ?? ""
                if ["get", "post", "put", "delete", "patch"].contains(key) {
                    routes.insert("\(key.uppercased()) \(path)")
                }
            }
        }
        return routes
    }

    @Test("every route the router serves is in docs/openapi.yaml, and every documented route is served")
    func routerAndSpecAgree() throws {
        let router = ServingRoutes.makeRouter(service: Fixtures.service())
        let served = Set(router.routes.map { "\($0.method) \($0.path)" })
        let documented = try Self.specRoutes()
        #expect(documented.count == 15)
        #expect(
            served == documented,
            "served only: \(served.subtracting(documented)); documented only: \(documented.subtracting(served))")
        #expect(Set(ServingRoutes.all) == served)
    }
}
