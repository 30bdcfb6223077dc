/// Where a request goes, parsed from the raw request target (HBASE_REST.md §1 "Routing").
///
/// The path is read raw (before any decoding) because row specs split at `/` and `,` before decoding (§3.1).
enum DoubleRoute {
    case tableList
    case version
    case clusterVersion
    case clusterStatus
    case namespaces
    case namespace(String)
    case namespaceTables(String)
    case schema(table: String)
    case exists(table: String)
    case regions(table: String)
    case scanners(table: String, rawTable: Substring)
    case scanner(table: String, id: String)
    case multiget(table: String, columns: Substring?)
    case statelessScan(table: String, prefix: Bytes)
    case row(table: String, spec: Substring)
    /// No TableResource sub-resource matches (Jersey: 404).
    case noResource

    /// `nil` when a segment has a bad percent escape.
    static func parse(path: Substring) -> DoubleRoute?? {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false)
        if segments.first == "" { segments.removeFirst() }
        guard let first = segments.first, !first.isEmpty else { return .some(.tableList) }
        switch first {
        case "version":
            if segments.count == 1 || (segments.count == 2 && (segments[1] == "rest" || segments[1].isEmpty)) {
                return .some(.version)
            }
            if segments.count == 2 && segments[1] == "cluster" { return .some(.clusterVersion) }
            return .some(nil)
        case "status":
            return segments.count == 2 && segments[1] == "cluster" ? .some(.clusterStatus) : .some(nil)
        case "namespaces":
            if segments.count == 1 || (segments.count == 2 && segments[1].isEmpty) { return .some(.namespaces) }
            guard let namespace = DoubleDecoding.pathParam(segments[1]) else { return nil }
            if segments.count == 2 { return .some(.namespace(namespace)) }
            if segments.count == 3 && segments[2] == "tables" { return .some(.namespaceTables(namespace)) }
            return .some(nil)
        default:
            break
        }
        guard let table = DoubleDecoding.pathParam(first) else { return nil }
        guard segments.count >= 2 else { return .some(nil) }
        let second = segments[1]
        let rest = segments[1...].joined(separator: "/")
        switch second {
        case "schema" where segments.count == 2: return .some(.schema(table: table))
        case "exists" where segments.count == 2: return .some(.exists(table: table))
        case "regions" where segments.count == 2: return .some(.regions(table: table))
        case "scanner" where segments.count == 2: return .some(.scanners(table: table, rawTable: first))
        case "scanner" where segments.count == 3:
            guard let id = DoubleDecoding.pathParam(segments[2]) else { return nil }
            return .some(.scanner(table: table, id: id))
        default:
            break
        }
        if second.hasPrefix("multiget") {
            // `multiget`, `multiget/`, `multiget/{cols}` (TMRR).
            return .some(.multiget(table: table, columns: segments.count > 2 ? segments[2] : nil))
        }
        // TableResource's templates match the *encoded* path: `{rowspec: [^*]+}` (so `%2A` is a row spec,
        // whose decoded `*` RowSpec then treats as a glob), `{suffixglobbingspec: .*\\*/.+}` (a `*` followed
        // by a column, also a row spec) and `{scanspec: .*[*]$}` (the stateless scanner, §7.1).
        if !rest.contains("*") || Self.isSuffixGlobbing(Substring(rest)) {
            return .some(.row(table: table, spec: Substring(rest)))
        }
        if rest.hasSuffix("*") {
            // The scan spec is a decoded path parameter; the prefix is everything before the first `*`.
            let raw = rest[..<rest.firstIndex(of: "*")!]
            guard let prefix = DoubleDecoding.pathParam(raw) else { return nil }
            return .some(.statelessScan(table: table, prefix: Bytes(prefix.utf8)))
        }
        return .some(.noResource)
    }

    /// `.*\*/.+`: some `*` followed by `/` and at least one more character.
    static func isSuffixGlobbing(_ path: Substring) -> Bool {
        var index = path.startIndex
        while let star = path[index...].firstIndex(of: "*") {
            let after = path.index(after: star)
            if after < path.endIndex && path[after] == "/" && path.index(after: after) < path.endIndex { return true }
            index = after
        }
        return false
    }

    /// The permission the handler needs, or `nil` for endpoints open to any authenticated user.
    func permission(method: String) -> (HBaseDoubleAction, HBaseDoubleScope)? {
        func tableScope(_ table: String) -> HBaseDoubleScope {
            let (namespace, name) = DoubleStore.split(table)
            return .table(namespace: namespace, name: name)
        }
        switch self {
        case .tableList, .version, .clusterVersion, .clusterStatus, .namespaces, .noResource:
            return nil
        case .namespace(let namespace):
            return method == "GET"
                ? (.admin, .namespace(namespace)) : (.admin, method == "PUT" ? .namespace(namespace) : .global)
        case .namespaceTables(let namespace):
            return (.read, .namespace(namespace))
        case .schema(let table):
            return (.create, tableScope(table))
        case .exists(let table), .regions(let table), .scanners(let table, _), .scanner(let table, _),
            .multiget(let table, _), .statelessScan(let table, _):
            return (.read, tableScope(table))
        case .row(let table, _):
            return method == "GET" ? (.read, tableScope(table)) : (.write, tableScope(table))
        }
    }
}
