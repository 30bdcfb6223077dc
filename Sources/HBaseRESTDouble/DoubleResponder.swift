import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore

/// One answer before it becomes a Hummingbird `Response`; thrown by a handler to answer early.
struct DoubleReply: Error, Sendable {
    var status: Int
    var body: Data = Data()
    var contentType: String?
    var headers: [(String, String)] = []

    static func json(_ body: Data, status: Int = 200, noCache: Bool = false) -> DoubleReply {
        DoubleReply(
            status: status, body: body, contentType: "application/json",
            headers: noCache ? [("Cache-Control", "no-cache")] : [])
    }

    /// A 200 in `format`.
    static func body(_ body: Data, _ format: DoubleFormat, noCache: Bool = false) -> DoubleReply {
        DoubleReply(
            status: 200, body: body, contentType: format.mediaType,
            headers: noCache ? [("Cache-Control", "no-cache")] : [])
    }

    static func text(_ status: Int, _ text: String) -> DoubleReply {
        DoubleReply(status: status, body: Data(text.utf8), contentType: "text/plain")
    }

    static func empty(_ status: Int) -> DoubleReply { DoubleReply(status: status) }

    // §3.9 error bodies (without the Java stack trace a real gateway appends).
    static let notFound = text(404, "Not found\r\n")
    static let badRequest = text(400, "Bad request\r\n")
    static let forbidden = text(403, "Forbidden\r\n")
    static let unavailable = text(503, "Unavailable\r\n")
    /// The spec does not say what the gateway does here: the double refuses rather than invents.
    static func notImplemented(_ what: String) -> DoubleReply {
        text(501, "Not implemented by hbase-rest-double: \(what)\r\n")
    }
}

/// The double's request handler: authentication → routing → authorization → handler.
struct DoubleResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    let store: DoubleStore
    let scanners: DoubleScanners
    let security: any HBaseDoubleSecurity
    let scheme: String
    /// The largest request body accepted (HBase's own limits are the client's, §3.4).
    let maxBodyBytes = 64 * 1024 * 1024

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        var reply: DoubleReply
        var extraHeaders = HTTPFields()
        switch await security.authenticate(request.head) {
        case .challenge(let headers):
            reply = .text(401, "Authentication required\r\n")
            extraHeaders = headers
        case .authenticated(let user, let headers):
            extraHeaders = headers
            do {
                reply = try await route(request, user: user)
            } catch let failure as StoreFailure {
                reply = Self.reply(for: failure)
            } catch let early as DoubleReply {
                reply = early
            }
        }
        var fields = HTTPFields()
        // Every gateway response carries these (hbase-http SecurityHeadersFilter, §1).
        fields[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        fields[HTTPField.Name("X-XSS-Protection")!] = "1; mode=block"
        if let type = reply.contentType { fields[.contentType] = type }
        for (name, value) in reply.headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        fields.append(contentsOf: extraHeaders)
        fields[.contentLength] = String(reply.body.count)
        return Response(
            status: HTTPResponse.Status(code: reply.status),
            headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body))
        )
    }

    static func reply(for failure: StoreFailure) -> DoubleReply {
        switch failure {
        case .notFound: return .notFound
        case .badRequest(let message): return .text(400, message + "\r\n")
        case .unavailable: return .unavailable
        case .storage: return .unavailable
        }
    }

    // MARK: Content negotiation (§1 media types, §7.7)

    /// The format to answer in, from `Accept` and the resource's `@Produces` list (declared order).
    ///
    /// - Throws: A ``DoubleReply``: 406 when nothing acceptable is produced (Jersey), 501 when HBase
    ///   produces the chosen type but the double does not speak it (protobuf, or `speaks` leaves it out).
    func negotiate(_ request: Request, produces: [DoubleFormat], speaks: Set<DoubleFormat>? = nil) throws
        -> DoubleFormat
    {
        guard let format = DoubleFormat.negotiate(accept: request.headers[.accept], produces: produces) else {
            throw DoubleReply.text(406, "Not Acceptable\r\n")
        }
        let spoken = speaks ?? [.json, .xml, .text, .binary]
        guard spoken.contains(format) else {
            throw DoubleReply.notImplemented("\(format.mediaType) responses here (send Accept: application/json)")
        }
        return format
    }

    /// JSON-only resources (namespaces): the `@Produces` list of NamespacesResource, JSON spoken.
    func negotiateAccept(_ request: Request) -> DoubleReply? {
        do {
            _ = try negotiate(request, produces: [.text, .xml, .json, .protobuf], speaks: [.json])
            return nil
        } catch let reply as DoubleReply {
            return reply
        } catch {
            return .unavailable
        }
    }

    /// The body's format from `Content-Type` against the resource's `@Consumes` list.
    ///
    /// No `Content-Type` is `application/octet-stream` (the servlet default).
    /// - Throws: A ``DoubleReply``: 415 for a type not consumed, 501 for protobuf or one `speaks` leaves out.
    func consumed(_ request: Request, consumes: [DoubleFormat], speaks: Set<DoubleFormat>? = nil) throws
        -> DoubleFormat
    {
        let type =
            request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces)
            .lowercased() ?? "application/octet-stream"
        guard let format = DoubleFormat(mediaType: type), consumes.contains(format) else {
            throw DoubleReply.text(415, "Unsupported Media Type\r\n")
        }
        guard (speaks ?? [.json, .xml, .binary]).contains(format) else {
            throw DoubleReply.notImplemented("\(format.mediaType) request bodies here")
        }
        return format
    }

    /// `nil` if the body is JSON (or absent when `optional`); 501 for XML/protobuf/binary; 415 otherwise.
    func negotiateContentType(_ request: Request, bodyIsEmpty: Bool, optional: Bool = false) -> DoubleReply? {
        if optional && bodyIsEmpty { return nil }
        do {
            _ = try consumed(request, consumes: [.xml, .json, .protobuf], speaks: [.json])
            return nil
        } catch let reply as DoubleReply {
            return reply
        } catch {
            return .unavailable
        }
    }

    // MARK: Routing

    func route(_ request: Request, user: String?) async throws -> DoubleReply {
        let target = request.head.path ?? "/"
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts[0]
        guard let query = DoubleDecoding.query(parts.count > 1 ? parts[1] : nil) else { return .badRequest }
        guard let parsed = DoubleRoute.parse(path: path) else { return .badRequest }
        guard let route = parsed else { return .notImplemented("this path") }
        let method = request.method.rawValue
        if let (action, scope) = route.permission(method: method) {
            guard await security.authorize(user: user, action: action, scope: scope) else { return .forbidden }
        }
        let body: Data
        if request.method == .put || request.method == .post {
            let buffer = try await request.body.collect(upTo: maxBodyBytes)
            body = Data(buffer.readableBytesView)
        } else {
            body = Data()
        }
        switch (route, request.method) {
        case (.tableList, .get): return try await tableList(request)
        case (.version, .get): return try version(request)
        case (.clusterVersion, .get): return try clusterVersion(request)
        case (.clusterStatus, .get): return try await clusterStatus(request)
        case (.namespaces, .get): return try await namespaces(request)
        case (.namespace(let ns), .get): return try await namespace(request, ns)
        case (.namespace(let ns), .post): return try await createNamespace(request, ns, body: body, alter: false)
        case (.namespace(let ns), .put): return try await createNamespace(request, ns, body: body, alter: true)
        case (.namespace(let ns), .delete): return try await deleteNamespace(ns)
        case (.namespaceTables(let ns), .get): return try await namespaceTables(request, ns)
        case (.schema(let t), .get): return try await getSchema(request, t)
        case (.schema(let t), .put): return try await putSchema(request, t, body: body, replace: true, path: path)
        case (.schema(let t), .post): return try await putSchema(request, t, body: body, replace: false, path: path)
        case (.schema(let t), .delete): return try await dropSchema(t)
        case (.exists(let t), .get): return await exists(t)
        case (.noResource, _): return .text(404, "")
        case (.scanners(let t, _), .put), (.scanners(let t, _), .post):
            return try await createScanner(request, t, body: body, path: path)
        case (.scanner(let t, let id), .get): return try await nextScanner(request, t, id: id, query: query)
        case (.scanner(_, let id), .delete):
            await scanners.close(id: id)
            return .empty(200)
        case (.multiget(let t, let columns), .get):
            return try await multiget(request, t, columns: columns, query: query)
        case (.statelessScan(let t, let prefix), .get):
            return try await statelessScan(request, t, prefix: prefix, query: query)
        case (.row(let t, let spec), .get): return try await getRow(request, t, rawSpec: spec, query: query)
        case (.row(let t, let spec), .put), (.row(let t, let spec), .post):
            return try await putRow(request, t, rawSpec: spec, query: query, body: body, path: path)
        case (.row(let t, let spec), .delete): return try await deleteRow(t, rawSpec: spec, path: path)
        case (.regions(let t), .get): return try await regions(request, t)
        default:
            return .text(405, "Method Not Allowed\r\n")
        }
    }

    // MARK: Cluster (§1, §2)

    /// GET `/` (§1, §2 TableList): `ns:t` names, no-cache; text, XML or JSON (RootResource).
    func tableList(_ request: Request) async throws -> DoubleReply {
        let format = try negotiate(request, produces: [.text, .xml, .json, .protobuf])
        let names = await store.tableNames()
        return .body(DoubleRepresentations.tableList(names, as: format), format, noCache: true)
    }

    /// GET `/version[/rest]` (§1, §2 Version): REST 0.0.3, Jersey empty; text is VersionModel.toString.
    func version(_ request: Request) throws -> DoubleReply {
        let format = try negotiate(request, produces: [.text, .xml, .json, .protobuf])
        return .body(DoubleRepresentations.version(.init(), as: format), format, noCache: true)
    }

    /// GET `/version/cluster` (§1, §2 ClusterVersion): no protobuf (StorageClusterVersionResource).
    func clusterVersion(_ request: Request) throws -> DoubleReply {
        let format = try negotiate(request, produces: [.text, .xml, .json])
        return .body(DoubleRepresentations.clusterVersion(Self.clusterVersionString, as: format), format, noCache: true)
    }

    static let clusterVersionString = "2.5.0-hbase-rest-double"
    /// The one region server, `host:port` as StorageClusterStatusResource and RegionsResource name it.
    static let regionServer = "hbase-rest-double:16020"

    /// GET `/status/cluster` (§1, §2 ClusterStatus): one live node serving one region per table.
    func clusterStatus(_ request: Request) async throws -> DoubleReply {
        let format = try negotiate(request, produces: [.text, .xml, .json, .protobuf])
        var regions: [DoubleRepresentations.Region] = []
        for table in await store.tableNames() {
            if let region = await region(of: table) { regions.append(region) }
        }
        return .body(
            DoubleRepresentations.clusterStatus(node: Self.regionServer, regions: regions, as: format), format,
            noCache: true)
    }

    func region(of table: String) async -> DoubleRepresentations.Region? {
        guard let id = await store.regionID(of: table) else { return nil }
        return DoubleRepresentations.Region(table: DoubleStore.canonical(table), id: id, location: Self.regionServer)
    }

    /// GET `/{t}/regions` (RegionsResource): a TableInfo with the table's one region, no-cache; 404 "Not found".
    func regions(_ request: Request, _ table: String) async throws -> DoubleReply {
        let format = try negotiate(request, produces: [.text, .xml, .json, .protobuf])
        guard let region = await region(of: table) else { return .notFound }
        return .body(
            DoubleRepresentations.tableInfo(name: region.table, regions: [region], as: format), format, noCache: true)
    }

    // MARK: Namespaces (§1, §2)

    /// GET `/namespaces` (§1, §2 Namespaces).
    func namespaces(_ request: Request) async throws -> DoubleReply {
        if let refusal = negotiateAccept(request) { return refusal }
        let names = await store.namespaces.keys.sorted()
        return .json(DoubleWire.json(["Namespace": names]))
    }

    /// GET `/namespaces/{ns}` (§1, §2 NamespaceProperties); a missing ns is a RuntimeException → 500 (§1).
    func namespace(_ request: Request, _ namespace: String) async throws -> DoubleReply {
        if let refusal = negotiateAccept(request) { return refusal }
        guard let properties = await store.namespaces[namespace] else {
            return .text(500, "Cannot retrieve info for '\(namespace)'.\r\n")
        }
        return .json(DoubleWire.json(["properties": properties]))
    }

    /// POST (create, 201 + Location) or PUT (alter, 200) `/namespaces/{ns}`; 403 texts from NIR (§1).
    func createNamespace(_ request: Request, _ namespace: String, body: Data, alter: Bool) async throws -> DoubleReply {
        if let refusal = negotiateContentType(request, bodyIsEmpty: body.isEmpty, optional: true) { return refusal }
        var properties: [String: String] = [:]
        if !body.isEmpty {
            guard let model = try? JSONDecoder().decode(DoubleWire.NamespaceProperties.self, from: body) else {
                return .badRequest
            }
            properties = model.properties ?? [:]
        }
        let exists = await store.namespaceExists(namespace)
        if !alter && exists {
            return .text(403, "Namespace '\(namespace)' already exists.  Use REST PUT to alter the existing namespace.")
        }
        if alter && !exists {
            return .text(403, "Namespace '\(namespace)' does not exist. Use REST POST to create the namespace.")
        }
        if alter {
            try await store.alterNamespace(namespace, properties: properties)
            return .empty(200)
        }
        try await store.createNamespace(namespace, properties: properties)
        return DoubleReply(status: 201, headers: [("Location", location(request, path: "/namespaces/\(namespace)"))])
    }

    /// DELETE `/namespaces/{ns}` (§1): 404 with NIR's text if missing; 503 if not empty or reserved (TNIR).
    func deleteNamespace(_ namespace: String) async throws -> DoubleReply {
        guard await store.namespaceExists(namespace) else {
            return .text(404, "Namespace '\(namespace)' does not exists.  Cannot drop namespace.")
        }
        try await store.deleteNamespace(namespace)
        return .empty(200)
    }

    /// GET `/namespaces/{ns}/tables` (§1): names without the namespace; missing ns → 500.
    func namespaceTables(_ request: Request, _ namespace: String) async throws -> DoubleReply {
        if let refusal = negotiateAccept(request) { return refusal }
        guard await store.namespaceExists(namespace) else {
            return .text(500, "Cannot retrieve table list for '\(namespace)'.\r\n")
        }
        let names = await store.tableNames(inNamespace: namespace).map { DoubleStore.split($0).name }
        return .json(DoubleWire.json(["table": names.map { ["name": $0] }]))
    }

    // MARK: Schema (§1, §2 TableSchema)

    /// GET `/{t}/schema`: 200 no-cache, or 404 "Not found" (RB, §3.9).
    func getSchema(_ request: Request, _ table: String) async throws -> DoubleReply {
        let format = try negotiate(request, produces: [.text, .xml, .json, .protobuf])
        guard let schema = await store.schema(of: table) else { return .notFound }
        let view = DoubleRepresentations.schemaView(name: DoubleStore.canonical(table), schema: schema)
        return .body(DoubleRepresentations.schema(view, as: format), format, noCache: true)
    }

    /// PUT `/{t}/schema` creates or replaces (201 + Location both ways); POST creates (201) or updates (200).
    ///
    /// §1. The URL's table name wins over the body's `name` (§2).
    func putSchema(_ request: Request, _ table: String, body: Data, replace: Bool, path: Substring) async throws
        -> DoubleReply
    {
        let format = try consumed(request, consumes: [.xml, .json, .protobuf])
        let parsed = format == .xml ? DoubleRepresentations.parseSchemaXML(body) : DoubleWire.parseSchema(body)
        guard let schema = parsed else { return .badRequest }
        if replace {
            try await store.replaceSchema(table, schema: schema)
            return DoubleReply(status: 201, headers: [("Location", location(request, path: String(path)))])
        }
        let created = try await store.updateSchema(table, schema: schema)
        return created
            ? DoubleReply(status: 201, headers: [("Location", location(request, path: String(path)))]) : .empty(200)
    }

    /// DELETE `/{t}/schema`: 200, or 404 (§1).
    func dropSchema(_ table: String) async throws -> DoubleReply {
        try await store.dropTable(table)
        return .empty(200)
    }

    /// GET `/{t}/exists`: 200 empty body no-cache, or 404 (§1 ExistsResource).
    func exists(_ table: String) async -> DoubleReply {
        guard await store.tableExists(table) else { return .notFound }
        return DoubleReply(status: 200, headers: [("Cache-Control", "no-cache")])
    }

    // MARK: Rows (§3.1–§3.6)

    /// GET `/{t}/{rowspec}[?v=N]` (§3.1–§3.3): 404 "Not found" when nothing matches or the table is missing.
    ///
    /// `Accept: application/octet-stream` answers one cell's raw value with `X-Timestamp`, and needs
    /// exactly one column (RowResource.getBinary: 400 otherwise).
    func getRow(_ request: Request, _ table: String, rawSpec: Substring, query: [(String, String)]) async throws
        -> DoubleReply
    {
        let format = try negotiate(request, produces: [.xml, .json, .protobuf, .binary])
        let spec = try RowSpec.parse(rawSpec)
        if format == .binary && spec.sortedColumns.count != 1 {
            return .text(400, RowSpec.binaryNeedsOneColumn)
        }
        var read = ReadSpec(selectors: spec.columns.map { ColumnSelector(wire: $0) })
        if let v = query.last(where: { $0.0 == "v" })?.1 {
            guard let versions = Int(v), versions > 0 else { return .badRequest }
            read.maxVersions = versions
        }
        if let range = spec.timeRange { read.timeRange = range }
        let rows: [ReadRow]
        do {
            if let end = spec.endRow {
                // `start,end` and `row*` (end = prefix + 0xFF) are scans with the end exclusive (RowSpec).
                rows = try await store.scan(table, start: spec.startRow, end: end, spec: read)
            } else {
                rows = try await store.get(table, key: spec.startRow, spec: read).map { [$0] } ?? []
            }
        } catch StoreFailure.notFound {
            return .notFound
        }
        guard let first = rows.first, let cell = first.cells.first else { return .notFound }
        switch format {
        case .binary:
            return DoubleReply(
                status: 200, body: Data(cell.cell.value), contentType: format.mediaType,
                headers: [("X-Timestamp", String(cell.cell.timestamp))])
        case .xml: return .body(DoubleRepresentations.cellSetXML(rows), .xml)
        default: return .json(DoubleWire.cellSet(rows))
        }
    }

    /// PUT/POST `/{t}/{rowspec}[?check=put]` (§3.4, §3.5).
    func putRow(
        _ request: Request, _ table: String, rawSpec: Substring, query: [(String, String)], body: Data,
        path: Substring
    ) async throws -> DoubleReply {
        let format = try consumed(request, consumes: [.xml, .json, .protobuf, .binary])
        let spec = try RowSpec.parse(rawSpec)
        if format == .binary { return try await putBinary(request, table, spec: spec, body: body) }
        let check = query.last { $0.0 == "check" }?.1
        if let check {
            switch check.lowercased() {
            case "put": break
            case "delete", "append", "increment": return .notImplemented("check=\(check)")
            default: return .text(400, "Invalid check value '\(check)'\r\n")
            }
        }
        let parsed =
            format == .xml
            ? DoubleRepresentations.parseCellSetXML(body)
            : try? JSONDecoder().decode(DoubleWire.CellSet.self, from: body)
        guard let cellSet = parsed else { return .badRequest }
        let pathColumns = spec.sortedColumns
        var rows: [(key: Bytes, cells: [DoubleStore.PendingCell])] = []
        for row in cellSet.rows ?? [] {
            // The row's own key wins; the path row is only a default (§3.4).
            let key = row.key.map { Bytes($0) } ?? (spec.startRow.isEmpty ? nil : spec.startRow)
            guard let key else { return .text(400, "Bad request: Row key not specified.\r\n") }
            var cells: [DoubleStore.PendingCell] = []
            for (index, cell) in (row.cells ?? []).enumerated() {
                // A cell without column takes the path's columns in sorted order (§7.3).
                let wire = cell.column.map { Bytes($0) } ?? (index < pathColumns.count ? pathColumns[index] : nil)
                guard let wire else { return .text(400, "Bad request: Column found to be null.\r\n") }
                let selector = ColumnSelector(wire: wire)
                guard let qualifier = selector.qualifier else { return .badRequest }
                cells.append(
                    .init(
                        column: ColumnKey(family: selector.family, qualifier: qualifier), timestamp: cell.timestamp,
                        value: Bytes(cell.value)))
            }
            rows.append((key, cells))
        }
        if check != nil {
            return try await checkAndPut(table, rows: rows)
        }
        do {
            try await store.put(table, rows: rows)
        } catch StoreFailure.notFound {
            return .notFound
        }
        return .empty(200)
    }

    /// check=put (§3.5): 1 row, ≥ 2 cells, the last is the condition with a non-empty qualifier, and one
    /// written cell uses its column; 200 when applied, 304 with no body otherwise (§7.2).
    func checkAndPut(_ table: String, rows: [(key: Bytes, cells: [DoubleStore.PendingCell])]) async throws
        -> DoubleReply
    {
        guard rows.count == 1, let row = rows.first, row.cells.count >= 2, let condition = row.cells.last else {
            return .badRequest
        }
        guard !condition.column.qualifier.isEmpty else { return .badRequest }
        let puts = Array(row.cells.dropLast())
        guard puts.contains(where: { $0.column == condition.column }) else {
            return .text(400, "Bad request: The column to put and check do not match.\r\n")
        }
        let applied = try await store.checkAndPut(
            table, row: row.key, cells: puts, condition: condition.column, expected: condition.value)
        return applied ? .empty(200) : .empty(304)
    }

    /// PUT/POST with `Content-Type: application/octet-stream` (RowResource.updateBinary): the body is one
    /// cell's value; the row is the path row or `X-Row`, the column the path's first column (which must be
    /// there: HBase indexes it before reading `X-Column`), or `X-Column`; `X-Timestamp` the time.
    func putBinary(_ request: Request, _ table: String, spec: RowSpec, body: Data) async throws -> DoubleReply {
        func header(_ name: String) -> String? {
            HTTPField.Name(name).flatMap { request.headers[$0] }
        }
        guard var column = spec.sortedColumns.first else { return .badRequest }  // columns[0] throws → 400
        var row = spec.startRow
        if let xRow = header("X-Row") { row = Bytes(xRow.utf8) }
        if let xColumn = header("X-Column") { column = Bytes(xColumn.utf8) }
        var timestamp: Int64?
        if let xTimestamp = header("X-Timestamp") {
            guard let value = Int64(xTimestamp) else { return .badRequest }
            timestamp = value
        }
        let selector = ColumnSelector(wire: column)
        guard let qualifier = selector.qualifier else { return .badRequest }
        let cell = DoubleStore.PendingCell(
            column: ColumnKey(family: selector.family, qualifier: qualifier), timestamp: timestamp, value: Bytes(body))
        do {
            try await store.put(table, rows: [(row, [cell])])
        } catch StoreFailure.notFound {
            return .notFound
        }
        return .empty(200)
    }

    /// DELETE `/{t}/{rowspec}` (§3.6, §3.2): row, family or all versions of a column; 404 for a missing
    /// table or family.
    ///
    /// RowResource.delete deletes `rowspec.getRow()`, the **start** row: `a,b` deletes `a`, and `abc*`
    /// (also `abc%2A`) deletes the row `abc`. An empty start row (`%2A`) is `new Delete(empty)` →
    /// IllegalArgumentException outside the handler's try → 500.
    func deleteRow(_ table: String, rawSpec: Substring, path: Substring) async throws -> DoubleReply {
        let spec = try RowSpec.parse(rawSpec)
        guard !spec.startRow.isEmpty else { return .text(500, "Row length is 0\r\n") }
        try await store.delete(
            table, row: spec.startRow, selectors: spec.columns.map { ColumnSelector(wire: $0) }, timestamp: spec.single)
        return .empty(200)
    }

    /// GET `/{t}/multiget[/{cols}]?row=…[&v=N]` (§1, TMRR): each `row` is decoded again and may carry its
    /// own `/cols` (§7.5); 200 with the rows found, 404 "No rows found." if none.
    func multiget(_ request: Request, _ table: String, columns: Substring?, query: [(String, String)]) async throws
        -> DoubleReply
    {
        let format = try negotiate(request, produces: [.xml, .json, .protobuf])
        if query.contains(where: { $0.0 == "filter" || $0.0 == "filter_b64" }) {
            return .notImplemented("multiget filter (2.6)")
        }
        var versions = 1
        if let v = query.last(where: { $0.0 == "v" })?.1 {
            guard let parsed = Int(v), parsed > 0 else { return .badRequest }
            versions = parsed
        }
        var common: [ColumnSelector] = []
        if let columns, !columns.isEmpty {
            for column in columns.split(separator: ",") {
                guard let decoded = DoubleDecoding.urlDecoder(column) else { return .badRequest }
                common.append(ColumnSelector(wire: decoded))
            }
        }
        var found: [ReadRow] = []
        for (name, value) in query where name == "row" {
            guard let spec = try? RowSpec.parse(Substring(value)), spec.isSingleRow else { return .badRequest }
            let selectors = spec.columns.isEmpty ? common : spec.columns.map { ColumnSelector(wire: $0) }
            do {
                if let row = try await store.get(
                    table, key: spec.startRow, spec: ReadSpec(selectors: selectors, maxVersions: versions))
                {
                    found.append(row)
                }
            } catch StoreFailure.notFound {
                return .notFound
            }
        }
        guard !found.isEmpty else { return .text(404, "No rows found.") }
        return format == .xml ? .body(DoubleRepresentations.cellSetXML(found), .xml) : .json(DoubleWire.cellSet(found))
    }

    /// GET `/{t}/{prefix}*?…` (§3.7, §7.1, §7.6): `prefix*` only sets the start row (no filter in 2.5).
    func statelessScan(_ request: Request, _ table: String, prefix: Bytes, query: [(String, String)]) async throws
        -> DoubleReply
    {
        let format = try negotiate(request, produces: [.xml, .json, .protobuf])
        var start: Bytes? = prefix.isEmpty ? nil : prefix
        var end: Bytes?
        var read = ReadSpec()
        var limit = Int.max
        var reversed = false
        var startTime: Int64 = 0
        var endTime = Int64.max
        for (name, value) in query {
            switch name {
            case "startrow": start = Bytes(value.utf8)
            case "endrow": end = Bytes(value.utf8)
            case "column": read.selectors.append(ColumnSelector(wire: Bytes(value.utf8)))
            case "maxversions":
                guard let v = Int(value), v > 0 else { return .badRequest }
                read.maxVersions = v
            case "limit":
                guard let v = Int(value), v >= 0 else { return .badRequest }
                limit = v
            case "starttime":
                guard let v = Int64(value) else { return .badRequest }
                startTime = v
            case "endtime":
                guard let v = Int64(value) else { return .badRequest }
                endTime = v
            case "reversed": reversed = value.lowercased() == "true"
            case "cacheblocks": break
            case "filter", "batchsize": return .notImplemented("stateless scan parameter '\(name)'")
            default: break
            }
        }
        guard startTime <= endTime else { return .badRequest }
        read.timeRange = startTime..<endTime
        let rows = try await store.scan(table, start: start, end: end, spec: read, reversed: reversed, limit: limit)
        return format == .xml ? .body(DoubleRepresentations.cellSetXML(rows), .xml) : .json(DoubleWire.cellSet(rows))
    }

    // MARK: Stateful scanners (§3.8)

    /// PUT/POST `/{t}/scanner`: 201, empty body, `Location: <request-URI>/<id>`, even for a missing table (§3.8).
    func createScanner(_ request: Request, _ table: String, body: Data, path: Substring) async throws -> DoubleReply {
        let format = try consumed(request, consumes: [.xml, .json, .protobuf])
        let parsed =
            format == .xml
            ? DoubleRepresentations.parseScannerXML(body)
            : try? JSONDecoder().decode(DoubleWire.Scanner.self, from: body)
        guard let model = parsed else { return .badRequest }
        if model.filter != nil { return .notImplemented("scanner filters") }
        if let labels = model.labels, !labels.isEmpty { return .notImplemented("visibility labels") }
        // §2 defaults: all versions, the whole time range, batch Integer.MAX_VALUE.
        var read = ReadSpec(selectors: (model.column ?? []).map { ColumnSelector(wire: Bytes($0)) })
        read.maxVersions = max(1, model.maxVersions ?? Int(Int32.max))
        read.timeRange = (model.startTime ?? 0)..<(model.endTime ?? Int64.max)
        let start = model.startRow.map { Bytes($0) }.flatMap { $0.isEmpty ? nil : $0 }
        let end = model.endRow.map { Bytes($0) }.flatMap { $0.isEmpty ? nil : $0 }
        var snapshot: [ReadRow]?
        do {
            snapshot = try await store.scan(table, start: start, end: end, spec: read)
        } catch StoreFailure.notFound {
            if await store.tableExists(table) { return .notFound }  // an unknown family
            snapshot = nil
        }
        let id = await scanners.open(table: table, snapshot: snapshot, batch: model.batch ?? Int(Int32.max))
        return DoubleReply(status: 201, headers: [("Location", location(request, path: String(path) + "/" + id))])
    }

    /// GET `/{t}/scanner/{id}[?n=rows&c=cells]`: 200 no-cache with a CellSet, 204 when exhausted,
    /// 404 for an unknown id or a table that did not exist, 410 if the table went away (§1, §3.8).
    func nextScanner(_ request: Request, _ table: String, id: String, query: [(String, String)]) async throws
        -> DoubleReply
    {
        let format = try negotiate(request, produces: [.xml, .json, .protobuf, .binary])
        // Octet-stream: one cell per GET (ScannerInstanceResource.getBinary).
        let requestedCells = query.last(where: { $0.0 == "c" }).flatMap { Int($0.1) }
        let cells = format == .binary ? 1 : requestedCells
        let rows = query.last { $0.0 == "n" }.flatMap { Int($0.1) }
        let scannerTable = await scanners.table(of: id) ?? table
        let exists = await store.tableExists(scannerTable)
        switch await scanners.next(id: id, tableExists: exists, cells: cells, rows: rows) {
        case .unknown, .tableMissing: return .notFound
        case .gone: return .text(410, "Gone\r\n")
        case .exhausted: return .empty(204)
        case .rows(let found):
            switch format {
            case .binary:
                guard let row = found.first, let cell = row.cells.first else { return .empty(204) }
                return DoubleReply(
                    status: 200, body: Data(cell.cell.value), contentType: format.mediaType,
                    headers: [
                        ("Cache-Control", "no-cache"), ("X-Row", Data(row.key).base64EncodedString()),
                        ("X-Column", Data(cell.column.wire).base64EncodedString()),
                        ("X-Timestamp", String(cell.cell.timestamp)),
                    ])
            case .xml: return .body(DoubleRepresentations.cellSetXML(found), .xml, noCache: true)
            default: return .json(DoubleWire.cellSet(found), noCache: true)
            }
        }
    }

    /// An absolute URI on this server, as Jersey's `uriInfo.getAbsolutePath()` gives.
    func location(_ request: Request, path: String) -> String {
        let authority = request.head.authority ?? ""
        return "\(scheme)://\(authority)\(path)"
    }
}
