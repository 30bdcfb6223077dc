import Foundation
import NIOHTTP1

extension HBaseClient {
    /// The HBase version the gateway's cluster runs: GET `/version/cluster` (HBASE_REST.md §1, §2 ClusterVersion).
    /// - Returns: The version string, for example `2.5.10`.
    /// - Throws: ``HBaseError/unavailable`` (503), ``HBaseError/unauthorized``, ``HBaseError/forbidden``,
    ///   ``HBaseError/transport``, ``HBaseError/timeout``, ``HBaseError/invalidResponse``.
    public func clusterVersion() async throws -> String {
        let reply = try await expect(
            [200], .GET, "/version/cluster", isIdempotent: true, context: .init(operation: "cluster version"))
        return try HBaseCodec.decode(HBaseCodec.WireClusterVersion.self, from: reply.body, what: "ClusterVersion")
            .version
    }

    /// The REST gateway's own version: GET `/version/rest` (§1, §2 Version).
    /// - Returns: The versions the gateway reports.
    /// - Throws: ``HBaseError/unauthorized``, ``HBaseError/transport``, ``HBaseError/timeout``,
    ///   ``HBaseError/invalidResponse``.
    public func restVersion() async throws -> HBaseRESTVersion {
        let reply = try await expect(
            [200], .GET, "/version/rest", isIdempotent: true, context: .init(operation: "REST version"))
        let wire = try HBaseCodec.decode(HBaseCodec.WireVersion.self, from: reply.body, what: "Version")
        return HBaseRESTVersion(
            rest: wire.rest ?? "", jvm: wire.jvm ?? "", os: wire.os ?? "", server: wire.server ?? "")
    }

    /// The cluster's status: GET `/status/cluster` (§1, §2 ClusterStatus).
    /// - Returns: Regions, load and live/dead servers.
    /// - Throws: ``HBaseError/unavailable`` (503), ``HBaseError/unauthorized``, ``HBaseError/forbidden``,
    ///   ``HBaseError/transport``, ``HBaseError/timeout``, ``HBaseError/invalidResponse``.
    public func clusterStatus() async throws -> HBaseClusterStatus {
        let reply = try await expect(
            [200], .GET, "/status/cluster", isIdempotent: true, context: .init(operation: "cluster status"))
        let wire = try HBaseCodec.decode(HBaseCodec.WireClusterStatus.self, from: reply.body, what: "ClusterStatus")
        return HBaseClusterStatus(
            regions: wire.regions ?? 0,
            requests: wire.requests ?? 0,
            averageLoad: wire.averageLoad ?? 0,
            liveNodes: (wire.liveNodes ?? []).map(\.name),
            deadNodes: wire.deadNodes ?? []
        )
    }

    /// Every table the gateway lists: GET `/` (§1, §2 TableList).
    /// - Returns: The tables, `ns:t` parsed into ``HBaseTableName``.
    /// - Throws: ``HBaseError/unavailable``, ``HBaseError/unauthorized``, ``HBaseError/transport``,
    ///   ``HBaseError/timeout``, ``HBaseError/invalidResponse``.
    public func listTables() async throws -> [HBaseTableName] {
        let reply = try await expect([200], .GET, "/", isIdempotent: true, context: .init(operation: "list tables"))
        let wire = try HBaseCodec.decode(HBaseCodec.WireTableList.self, from: reply.body, what: "TableList")
        return (wire.table ?? []).map { HBaseTableName(qualified: $0.name) }
    }

    /// The regions of a table: GET `/{t}/regions` (§1, RegionsResource, TableInfoModel).
    /// - Parameter table: The table.
    /// - Returns: Its regions in the order the gateway lists them (by start key).
    /// - Throws: ``HBaseError/tableNotFound`` (404), ``HBaseError/unavailable`` (503), ``HBaseError/unauthorized``,
    ///   ``HBaseError/forbidden``, ``HBaseError/transport``, ``HBaseError/timeout``, ``HBaseError/invalidResponse``.
    public func regions(of table: HBaseTableName) async throws -> [HBaseRegion] {
        let reply = try await expect(
            [200], .GET, HBasePath.table(table) + "/regions", isIdempotent: true,
            context: .init(operation: "list regions of", table: table))
        let wire = try HBaseCodec.decode(HBaseCodec.WireTableInfo.self, from: reply.body, what: "TableInfo")
        return (wire.regions ?? []).map {
            HBaseRegion(
                name: $0.name, id: $0.id, startKey: $0.startKey ?? Data(), endKey: $0.endKey ?? Data(),
                location: $0.location)
        }
    }

    // MARK: Namespaces (§1, §2)

    /// All namespaces: GET `/namespaces` (§1, §2 Namespaces).
    /// - Returns: The namespace names, including `default` and `hbase`.
    /// - Throws: ``HBaseError/serverError``, ``HBaseError/unauthorized``, ``HBaseError/forbidden``,
    ///   ``HBaseError/transport``, ``HBaseError/timeout``, ``HBaseError/invalidResponse``.
    public func listNamespaces() async throws -> [String] {
        let reply = try await expect(
            [200], .GET, "/namespaces", isIdempotent: true, context: .init(operation: "list namespaces"))
        return try HBaseCodec.decode(HBaseCodec.WireNamespaces.self, from: reply.body, what: "Namespaces").namespaces
            ?? []
    }

    /// A namespace's properties, or `nil` if it does not exist.
    ///
    /// HBase answers a GET of a missing namespace with a 500 (§1), so the client checks the list first.
    /// - Parameter namespace: The namespace name.
    /// - Returns: Its properties (possibly empty), or `nil`.
    /// - Throws: ``HBaseError/serverError``, ``HBaseError/unauthorized``, ``HBaseError/forbidden``,
    ///   ``HBaseError/transport``, ``HBaseError/timeout``, ``HBaseError/invalidResponse``.
    public func namespaceProperties(_ namespace: String) async throws -> [String: String]? {
        guard try await listNamespaces().contains(namespace) else { return nil }
        let context = Context(operation: "get", namespace: namespace, notFound: .namespaceNotFound)
        let reply = try await expect(
            [200], .GET, "/namespaces/" + HBasePath.encode(namespace), isIdempotent: true, context: context)
        return try HBaseCodec.decode(
            HBaseCodec.WireNamespaceProperties.self, from: reply.body, what: "NamespaceProperties"
        )
        .properties ?? [:]
    }

    /// Creates a namespace: POST `/namespaces/{ns}` (§1, §2 NamespaceProperties).
    /// - Parameters:
    ///   - namespace: The namespace name.
    ///   - properties: Optional properties.
    /// - Throws: ``HBaseError/alreadyExists`` (403 because it exists), ``HBaseError/forbidden`` (403 read-only
    ///   or no grant, when the namespace does not exist), ``HBaseError/badRequest``, ``HBaseError/unauthorized``,
    ///   ``HBaseError/transport``, ``HBaseError/timeout``.
    public func createNamespace(_ namespace: String, properties: [String: String] = [:]) async throws {
        let context = Context(operation: "create", namespace: namespace)
        let body = try JSONEncoder().encode(HBaseCodec.WireNamespaceProperties(properties: properties))
        let reply = try await send(
            .POST, "/namespaces/" + HBasePath.encode(namespace), body: body, isIdempotent: false, context: context)
        switch reply.status {
        case 200, 201: return
        case 403:
            // 403 means "already exists" or "forbidden" (§1); only the list can tell them apart.
            if (try? await listNamespaces().contains(namespace)) == true {
                throw HBaseError.alreadyExists.with(
                    "create namespace '\(namespace)': it already exists (HTTP 403)", status: 403)
            }
            throw Self.error(status: reply.status, body: reply.body, context: context)
        default:
            throw Self.error(status: reply.status, body: reply.body, context: context)
        }
    }

    /// Deletes an empty namespace: DELETE `/namespaces/{ns}` (§1).
    /// - Parameter namespace: The namespace name.
    /// - Throws: ``HBaseError/namespaceNotFound`` (404), ``HBaseError/unavailable`` (503: not empty, or
    ///   `default`/`hbase`), ``HBaseError/forbidden``, ``HBaseError/unauthorized``, ``HBaseError/transport``,
    ///   ``HBaseError/timeout``.
    public func deleteNamespace(_ namespace: String) async throws {
        let context = Context(operation: "delete", namespace: namespace, notFound: .namespaceNotFound)
        _ = try await expect(
            [200], .DELETE, "/namespaces/" + HBasePath.encode(namespace), isIdempotent: true, context: context)
    }

    /// The tables in a namespace: GET `/namespaces/{ns}/tables` (§1).
    /// - Parameter namespace: The namespace name.
    /// - Returns: The tables, qualified with `namespace`.
    /// - Throws: ``HBaseError/serverError`` (missing namespace, §1), ``HBaseError/forbidden``,
    ///   ``HBaseError/unauthorized``, ``HBaseError/transport``, ``HBaseError/timeout``, ``HBaseError/invalidResponse``.
    public func listTables(inNamespace namespace: String) async throws -> [HBaseTableName] {
        let context = Context(operation: "list tables", namespace: namespace, notFound: .namespaceNotFound)
        let reply = try await expect(
            [200], .GET, "/namespaces/" + HBasePath.encode(namespace) + "/tables", isIdempotent: true, context: context)
        let wire = try HBaseCodec.decode(HBaseCodec.WireTableList.self, from: reply.body, what: "TableList")
        return (wire.table ?? []).map { HBaseTableName(HBaseTableName(qualified: $0.name).name, namespace: namespace) }
    }
}
