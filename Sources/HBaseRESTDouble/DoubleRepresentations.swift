import Crypto
import Foundation

/// The gateway's models in each format it speaks: JSON (Jackson + JAXB annotations), XML (JAXB) and
/// text (the model's `toString()`, PlainTextMessageBodyProducer) (HBASE_REST.md §1, §2).
enum DoubleRepresentations {
    // MARK: JSON writing in the model's property order

    /// A JSON string literal.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20: out += String(format: "\\u%04x", c.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func jsonObject(_ members: [(String, String)]) -> String {
        "{" + members.map { jsonString($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    // MARK: CellSet (§2)

    /// `<CellSet><Row key="b64"><Cell column="b64" timestamp="n">b64</Cell></Row></CellSet>` (CellSetModel).
    static func cellSetXML(_ rows: [ReadRow]) -> Data {
        var body = "<CellSet>"
        for row in rows {
            body += "<Row key=\"\(Data(row.key).base64EncodedString())\">"
            for entry in row.cells {
                body +=
                    "<Cell column=\"\(Data(entry.column.wire).base64EncodedString())\" timestamp=\"\(entry.cell.timestamp)\">"
                body += Data(entry.cell.value).base64EncodedString() + "</Cell>"
            }
            body += "</Row>"
        }
        return DoubleXML.document(body + "</CellSet>")
    }

    /// Reads an XML CellSet into the same shape as the JSON one; `nil` if malformed.
    static func parseCellSetXML(_ data: Data) -> DoubleWire.CellSet? {
        guard let root = DoubleXMLElement.parse(data), root.name == "CellSet" else { return nil }
        var rows: [DoubleWire.Row] = []
        for row in root.children(named: "Row") {
            var cells: [DoubleWire.Cell] = []
            for cell in row.children(named: "Cell") {
                guard let value = Data(base64Encoded: cell.text.trimmingCharacters(in: .whitespacesAndNewlines))
                else { return nil }
                var parsed = DoubleWire.Cell(column: nil, timestamp: nil, value: value)
                if let column = cell.attributes["column"] {
                    guard let bytes = Data(base64Encoded: column) else { return nil }
                    parsed.column = bytes
                }
                if let timestamp = cell.attributes["timestamp"] {
                    guard let value = Int64(timestamp) else { return nil }
                    parsed.timestamp = value
                }
                cells.append(parsed)
            }
            var key: Data?
            if let text = row.attributes["key"] {
                guard let bytes = Data(base64Encoded: text) else { return nil }
                key = bytes
            }
            rows.append(DoubleWire.Row(key: key, cells: cells))
        }
        return DoubleWire.CellSet(rows: rows)
    }

    /// `<Scanner batch="…" startRow="b64" …><column>b64</column><filter>…</filter></Scanner>` (ScannerModel).
    static func parseScannerXML(_ data: Data) -> DoubleWire.Scanner? {
        guard let root = DoubleXMLElement.parse(data), root.name == "Scanner" else { return nil }
        func bytes(_ name: String) -> Data?? {
            guard let text = root.attributes[name] else { return .some(nil) }
            return Data(base64Encoded: text).map { Optional($0) }
        }
        func number<T: LosslessStringConvertible>(_ name: String, _: T.Type) -> T?? {
            guard let text = root.attributes[name] else { return .some(nil) }
            return T(text).map { Optional($0) }
        }
        guard let startRow = bytes("startRow"), let endRow = bytes("endRow"),
            let batch = number("batch", Int.self), let maxVersions = number("maxVersions", Int.self),
            let startTime = number("startTime", Int64.self), let endTime = number("endTime", Int64.self),
            let caching = number("caching", Int.self)
        else { return nil }
        var columns: [Data] = []
        for column in root.children(named: "column") {
            guard let value = Data(base64Encoded: column.text.trimmingCharacters(in: .whitespacesAndNewlines))
            else { return nil }
            columns.append(value)
        }
        let filter = root.children(named: "filter").first?.text
        let labels = root.children(named: "labels").map(\.text)
        return DoubleWire.Scanner(
            startRow: startRow, endRow: endRow, column: columns.isEmpty ? nil : columns, batch: batch,
            maxVersions: maxVersions, startTime: startTime, endTime: endTime, caching: caching,
            cacheBlocks: root.attributes["cacheBlocks"].map { $0 == "true" }, filter: filter,
            labels: labels.isEmpty ? nil : labels)
    }

    // MARK: TableSchema (§2)

    /// What HBase 2.x puts in every new column family's values (ColumnFamilyDescriptorBuilder.DEFAULT_VALUES);
    /// ColumnSchemaModel prints them all.
    static let familyDefaults: [(String, String)] = [
        // In the order getDefaultValuesBytes() inserts them (DEFAULT_VALUES' own HashMap order, from OpenJDK),
        // which decides ties between keys that share a bucket.
        ("BLOOMFILTER", "ROW"), ("IN_MEMORY", "false"), ("VERSIONS", "1"), ("KEEP_DELETED_CELLS", "FALSE"),
        ("DATA_BLOCK_ENCODING", "NONE"), ("COMPRESSION", "NONE"), ("TTL", "2147483647"), ("MIN_VERSIONS", "0"),
        ("BLOCKCACHE", "true"), ("BLOCKSIZE", "65536"), ("REPLICATION_SCOPE", "0"),
    ]

    /// A schema as the gateway prints it: families sorted by name bytes (the descriptor's TreeMap),
    /// table values plus `IS_META` (always set by TableDescriptorBuilder), family values over the
    /// defaults, each in `java.util.HashMap` order.
    struct SchemaView {
        var name: String
        var attributes: [(String, String)]
        var families: [(name: String, attributes: [(String, String)])]
    }

    static func schemaView(name: String, schema: TableSchemaRecord) -> SchemaView {
        var table = schema.attributes
        table["IS_META"] = "false"
        let tableKeys = javaHashMapOrder(schema.attributes.keys.filter { $0 != "IS_META" }.sorted() + ["IS_META"])
        let families = schema.families.sorted { bytesLess(Array($0.name.utf8), Array($1.name.utf8)) }.map {
            family -> (name: String, attributes: [(String, String)]) in
            var values = Dictionary(uniqueKeysWithValues: familyDefaults)
            for (key, value) in family.attributes { values[key] = value }
            let inserted = familyDefaults.map(\.0) + family.attributes.keys.filter { values[$0] != nil }.sorted()
            var seen = Set<String>()
            let keys = javaHashMapOrder(inserted.filter { seen.insert($0).inserted })
            return (family.name, keys.map { ($0, values[$0]!) })
        }
        return SchemaView(name: name, attributes: tableKeys.map { ($0, table[$0]!) }, families: families)
    }

    static func schema(_ view: SchemaView, as format: DoubleFormat) -> Data {
        switch format {
        case .xml:
            let columns = view.families.map { DoubleXML.element("ColumnSchema", [("name", $0.name)] + $0.attributes) }
            return DoubleXML.document(
                DoubleXML.element("TableSchema", [("name", view.name)] + view.attributes, content: columns.joined()))
        case .text:
            // TableSchemaModel.toString / ColumnSchemaModel.toString.
            func pairs(_ attributes: [(String, String)]) -> String {
                attributes.map { ", \($0.0) => '\($0.1)'" }.joined()
            }
            let columns = view.families.map { "{ NAME => '\($0.name)'\(pairs($0.attributes)) }" }
            // Each family, a comma if another follows, then a space.
            let list = columns.enumerated().map { $0.element + ($0.offset < columns.count - 1 ? "," : "") + " " }
            return Data("{ NAME=> '\(view.name)'\(pairs(view.attributes)), COLUMNS => [ \(list.joined())] }".utf8)
        default:
            // Jackson: bean properties (name, ColumnSchema) first, then the @JsonAnyGetter map.
            let columns = view.families.map { family in
                jsonObject([("name", jsonString(family.name))] + family.attributes.map { ($0.0, jsonString($0.1)) })
            }
            let members =
                [("name", jsonString(view.name)), ("ColumnSchema", "[" + columns.joined(separator: ",") + "]")]
                + view.attributes.map { ($0.0, jsonString($0.1)) }
            return Data(jsonObject(members).utf8)
        }
    }

    /// Parses an XML TableSchema (`<TableSchema name=… attrs><ColumnSchema name=… attrs/></TableSchema>`).
    static func parseSchemaXML(_ data: Data) -> TableSchemaRecord? {
        guard let root = DoubleXMLElement.parse(data), root.name == "TableSchema" else { return nil }
        var attributes = root.attributes
        attributes["name"] = nil
        var families: [FamilySchema] = []
        for column in root.children(named: "ColumnSchema") {
            var attrs = column.attributes
            guard let name = attrs.removeValue(forKey: "name"), !name.isEmpty else { return nil }
            families.append(FamilySchema(name: name, attributes: attrs))
        }
        return TableSchemaRecord(attributes: attributes, families: families)
    }

    // MARK: TableInfo (GET /{t}/regions, RegionsResource)

    /// The double's one region per table, as TableRegionModel describes it.
    struct Region {
        var table: String
        var id: Int64
        var location: String

        /// `RegionInfo.createRegionName(table, startKey, id, newFormat: true)`:
        /// `table,startKey,id.md5hex(table,startKey,id).` with an empty start key.
        var name: String {
            let prefix = "\(table),,\(id)"
            let digest = Insecure.MD5.hash(data: Data(prefix.utf8)).map { String(format: "%02x", $0) }.joined()
            return "\(prefix).\(digest)."
        }
    }

    static func tableInfo(name: String, regions: [Region], as format: DoubleFormat) -> Data {
        switch format {
        case .xml:
            let elements = regions.map {
                DoubleXML.element(
                    "Region",
                    [
                        ("endKey", ""), ("id", String($0.id)), ("location", $0.location), ("name", $0.name),
                        ("startKey", ""),
                    ])
            }
            return DoubleXML.document(DoubleXML.element("TableInfo", [("name", name)], content: elements.joined()))
        case .text:
            // TableInfoModel.toString: each TableRegionModel.toString followed by a newline.
            let text = regions.map {
                "\($0.name) [\n  id=\($0.id)\n  startKey=''\n  endKey=''\n  location='\($0.location)'\n]\n\n"
            }.joined()
            return Data(text.utf8)
        default:
            let objects = regions.map {
                jsonObject([
                    ("endKey", "\"\""), ("id", String($0.id)), ("location", jsonString($0.location)),
                    ("name", jsonString($0.name)), ("startKey", "\"\""),
                ])
            }
            return Data(
                jsonObject([("name", jsonString(name)), ("Region", "[" + objects.joined(separator: ",") + "]")]).utf8)
        }
    }

    // MARK: Version, ClusterVersion, TableList

    struct Version {
        var rest = "0.0.3"
        var jvm = "none (hbase-rest-double)"
        var os = ProcessInfo.processInfo.operatingSystemVersionString
        var server = "hbase-rest-double"
        var jersey = ""
    }

    static func version(_ v: Version, as format: DoubleFormat) -> Data {
        switch format {
        case .xml:
            return DoubleXML.document(
                DoubleXML.element(
                    "Version",
                    [("JVM", v.jvm), ("Jersey", v.jersey), ("OS", v.os), ("REST", v.rest), ("Server", v.server)]))
        case .text:
            // VersionModel.toString.
            return Data(
                "rest \(v.rest) [JVM: \(v.jvm)] [OS: \(v.os)] [Server: \(v.server)] [Jersey: \(v.jersey)]\n".utf8)
        default:
            return DoubleWire.json(["JVM": v.jvm, "Jersey": v.jersey, "OS": v.os, "REST": v.rest, "Server": v.server])
        }
    }

    /// StorageClusterVersionModel: `toString()` is the bare version, XML `<ClusterVersion Version="…"/>`.
    static func clusterVersion(_ version: String, as format: DoubleFormat) -> Data {
        switch format {
        case .xml: return DoubleXML.document(DoubleXML.element("ClusterVersion", [("Version", version)]))
        case .text: return Data(version.utf8)
        default: return DoubleWire.json(["Version": version])
        }
    }

    /// TableListModel: `toString()` is each name and a newline; XML `<TableList><table name="…"/></TableList>`.
    static func tableList(_ names: [String], as format: DoubleFormat) -> Data {
        switch format {
        case .xml:
            return DoubleXML.document(
                DoubleXML.element(
                    "TableList", [], content: names.map { DoubleXML.element("table", [("name", $0)]) }.joined()))
        case .text: return Data(names.map { $0 + "\n" }.joined().utf8)
        default: return DoubleWire.json(["table": names.map { ["name": $0] }])
        }
    }

    // MARK: ClusterStatus (StorageClusterStatusModel)

    static let regionMetrics = [
        "stores", "storefiles", "storefileSizeMB", "memStoreSizeMB", "storefileIndexSizeKB", "readRequestsCount",
        "cpRequestsCount", "writeRequestsCount", "rootIndexSizeKB", "totalStaticIndexSizeKB",
        "totalStaticBloomSizeKB", "totalCompactingKVs", "currentCompactedKVs",
    ]

    /// One live node serving `regions`; every metric 0 except one store per region.
    static func clusterStatus(node: String, regions: [Region], as format: DoubleFormat) -> Data {
        let averageLoad = Double(regions.count)
        func metric(_ name: String) -> Int { name == "stores" ? 1 : 0 }
        switch format {
        case .xml:
            let regionElements = regions.map { region in
                DoubleXML.element(
                    "Region",
                    [("name", Data(region.name.utf8).base64EncodedString())]
                        + regionMetrics.map { ($0, String(metric($0))) })
            }
            let nodeElement = DoubleXML.element(
                "Node",
                [("heapSizeMB", "0"), ("maxHeapSizeMB", "0"), ("name", node), ("requests", "0"), ("startCode", "0")],
                content: regionElements.joined())
            return DoubleXML.document(
                DoubleXML.element(
                    "ClusterStatus",
                    [("averageLoad", "\(averageLoad)"), ("regions", String(regions.count)), ("requests", "0")],
                    content: "<LiveNodes>\(nodeElement)</LiveNodes><DeadNodes/>"))
        case .text:
            // StorageClusterStatusModel.toString (its `%.4f` follows the JVM's locale; the double uses '.').
            var text = "1 live servers, 0 dead servers, \(Self.fourDecimals(averageLoad)) average load\n\n"
            text += "1 live servers\n    \(node) 0\n        requests=0, regions=\(regions.count)\n"
            text += "        heapSizeMB=0\n        maxHeapSizeMB=0\n\n"
            let labels = [
                "stores", "storefiless", "storefileSizeMB", "memstoreSizeMB", "storefileIndexSizeKB",
                "readRequestsCount",
                "cpRequestsCount", "writeRequestsCount", "rootIndexSizeKB", "totalStaticIndexSizeKB",
                "totalStaticBloomSizeKB", "totalCompactingKVs", "currentCompactedKVs",
            ]
            for region in regions {
                text += "        \(region.name)\n"
                for (label, name) in zip(labels, regionMetrics) { text += "            \(label)=\(metric(name))\n" }
            }
            return Data((text + "\n").utf8)
        default:
            var nodeObject: [String: Any] = [
                "name": node, "requests": 0, "startCode": 0, "heapSizeMB": 0, "maxHeapSizeMB": 0,
            ]
            nodeObject["Region"] = regions.map { region -> [String: Any] in
                var object: [String: Any] = ["name": Data(region.name.utf8).base64EncodedString()]
                for name in regionMetrics { object[name] = metric(name) }
                return object
            }
            return DoubleWire.json([
                "regions": regions.count, "requests": 0, "averageLoad": averageLoad, "LiveNodes": [nodeObject],
                "DeadNodes": [String](),
            ])
        }
    }
}

extension DoubleRepresentations {
    /// A non-negative `value` with four decimals and a `.`, whatever the process locale (Java's `%.4f` in the
    /// root locale, as `StorageClusterStatusModel.toString` prints the average load).
    static func fourDecimals(_ value: Double) -> String {
        let scaled = Int((max(0, value) * 10_000).rounded())
        let fraction = String(scaled % 10_000)
        return "\(scaled / 10_000)." + String(repeating: "0", count: 4 - fraction.count) + fraction
    }
}
