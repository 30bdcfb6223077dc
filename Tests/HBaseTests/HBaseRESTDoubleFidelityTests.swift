import Foundation
import HBase
import HBaseRESTDouble
import NIOHTTP1
import Testing

/// Wire facts checked against HBase's REST server source (issue 12 §3): regions, text and binary
/// representations, XML bodies, encoded-path routing, schema order, non-UTF-8 row keys.
extension HBaseRESTDoubleWireTests {
    static func cellSetJSON(_ rows: [(key: [UInt8], column: String, value: String)]) -> String {
        let items = rows.map {
            #"{"key":"\#(Data($0.key).base64EncodedString())","Cell":[{"column":"\#(b64($0.column))","$":"\#(b64($0.value))"}]}"#
        }
        return #"{"Row":["# + items.joined(separator: ",") + "]}"
    }

    @Test func regionsListsTheTablesOneRegionInJSONXMLAndText() async throws {
        try await withTable { (base: String) async throws in
            let json = try await RawHTTP.send(.GET, base + "/TestRowResource/regions")
            #expect(json.status == 200)
            #expect(json.header("Cache-Control") == "no-cache")
            let info = try #require(try JSONSerialization.jsonObject(with: json.body) as? [String: Any])
            #expect(info["name"] as? String == "TestRowResource")
            let regions = try #require(info["Region"] as? [[String: Any]])
            #expect(regions.count == 1)
            let region = try #require(regions.first)
            #expect(region["startKey"] as? String == "")
            #expect(region["endKey"] as? String == "")
            let id = try #require(region["id"] as? Int)
            // RegionInfo.createRegionName: table,startKey,id.md5(table,startKey,id).
            let name = try #require(region["name"] as? String)
            #expect(name.hasPrefix("TestRowResource,,\(id)."))
            #expect(name.hasSuffix("."))
            #expect(name.count == "TestRowResource,,\(id).".count + 32 + 1)
            #expect((region["location"] as? String)?.contains(":") == true)

            let xml = try await RawHTTP.send(.GET, base + "/TestRowResource/regions", headers: [("Accept", "text/xml")])
            #expect(xml.header("Content-Type") == "text/xml")
            #expect(xml.text.contains(#"<TableInfo name="TestRowResource"><Region "#))
            #expect(xml.text.contains(#"name="\#(name)""#))

            let text = try await RawHTTP.send(
                .GET, base + "/TestRowResource/regions", headers: [("Accept", "text/plain")])
            #expect(text.text.hasPrefix("\(name) [\n  id=\(id)\n  startKey=''\n  endKey=''\n  location='"))
            #expect(text.text.hasSuffix("'\n]\n\n"))

            #expect(try await RawHTTP.send(.GET, base + "/Nope/regions").text == "Not found\r\n")
        }
    }

    @Test func versionAndStatusAnswerPlainTextAsTheModelsToString() async throws {
        try await withTable { (base: String) async throws in
            let plain = [("Accept", "text/plain")]
            for path in ["/version", "/version/rest"] {
                let reply = try await RawHTTP.send(.GET, base + path, headers: plain)
                #expect(reply.status == 200)
                #expect(reply.header("Content-Type") == "text/plain")
                #expect(reply.header("Cache-Control") == "no-cache")
                // VersionModel.toString.
                #expect(reply.text.hasPrefix("rest 0.0.3 [JVM: "))
                #expect(reply.text.contains("] [OS: "))
                #expect(reply.text.hasSuffix("] [Jersey: ]\n"))
            }
            // StorageClusterVersionModel.toString is the bare version.
            let cluster = try await RawHTTP.send(.GET, base + "/version/cluster", headers: plain)
            #expect(cluster.text.hasPrefix("2.") && !cluster.text.contains("\n"))
            // StorageClusterStatusModel.toString ('%.4f' average load, one region per table).
            let status = try await RawHTTP.send(.GET, base + "/status/cluster", headers: plain)
            #expect(
                status.text.hasPrefix("1 live servers, 0 dead servers, 1.0000 average load\n\n1 live servers\n    "))
            #expect(status.text.contains("        requests=0, regions=1\n"))
            #expect(status.text.contains("            storefiless=0\n"))
            // No Accept: Jersey answers the first @Produces type, text for these (§7.7).
            let bare = try await RawHTTP.send(.GET, base + "/version/cluster", headers: [])
            #expect(bare.header("Content-Type") == "text/plain")
            #expect(try await RawHTTP.send(.GET, base + "/", headers: plain).text == "TestRowResource\n")
        }
    }

    @Test func octetStreamReadsOneCellsRawValueWithItsTimestamp() async throws {
        try await withTable { (base: String) async throws in
            // TGAP.testSingleCellGetPutBinary: binary PUT then binary GET.
            let raw = "\u{1}binary\u{7F}"
            let put = try await RawHTTP.send(
                .PUT, base + "/TestRowResource/testrow3/a:1",
                headers: [("Content-Type", "application/octet-stream"), ("X-Timestamp", "1234")], body: raw)
            #expect(put.status == 200)
            let binary = [("Accept", "application/octet-stream")]
            let get = try await RawHTTP.send(.GET, base + "/TestRowResource/testrow3/a:1", headers: binary)
            #expect(get.status == 200)
            #expect(get.header("Content-Type") == "application/octet-stream")
            #expect(get.text == raw)
            #expect(get.header("X-Timestamp") == "1234")
            // RowResource.getBinary: 0 or more than 1 column is a 400; a missing cell a 404.
            let none = try await RawHTTP.send(.GET, base + "/TestRowResource/testrow3", headers: binary)
            #expect(none.status == 400)
            #expect(none.text.hasPrefix("Bad request: Default 'GET' method only works if there is exactly 1 column"))
            #expect(
                try await RawHTTP.send(.GET, base + "/TestRowResource/testrow3/a:1,b:2", headers: binary).status == 400)
            #expect(try await RawHTTP.send(.GET, base + "/TestRowResource/testrow3/a:2", headers: binary).status == 404)
            // The same column twice is one column (RowSpec keeps a sorted set).
            #expect(
                try await RawHTTP.send(.GET, base + "/TestRowResource/testrow3/a:1,a:1", headers: binary).status == 200)
            // A row GET has no text/plain representation: 406.
            let text = try await RawHTTP.send(
                .GET, base + "/TestRowResource/testrow3", headers: [("Accept", "text/plain")])
            #expect(text.status == 406)
        }
    }

    @Test func xmlCellSetScannerAndSchemaBodiesGoInAndComeOut() async throws {
        try await withTable { (base: String) async throws in
            let xml = [("Accept", "text/xml"), ("Content-Type", "text/xml")]
            // Example 8: PUT an XML CellSet, GET it back as XML.
            let cellSet =
                #"<CellSet><Row key="\#(b64("testrow1"))"><Cell column="\#(b64("a:1"))">\#(b64("v1"))</Cell></Row></CellSet>"#
            let put = try await RawHTTP.send(.PUT, base + "/TestRowResource/testrow1/a:1", headers: xml, body: cellSet)
            #expect(put.status == 200)
            let get = try await RawHTTP.send(.GET, base + "/TestRowResource/testrow1/a:1", headers: xml)
            #expect(get.header("Content-Type") == "text/xml")
            #expect(
                get.text.hasPrefix(
                    #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><CellSet><Row key="\#(b64("testrow1"))"><Cell column="\#(b64("a:1"))" timestamp=""#
                ))
            #expect(get.text.hasSuffix(#"">\#(b64("v1"))</Cell></Row></CellSet>"#))
            // No Accept on a row GET: XML, RowResource's first @Produces type (§7.7).
            #expect(
                try await RawHTTP.send(.GET, base + "/TestRowResource/testrow1", headers: []).header("Content-Type")
                    == "text/xml")

            // Example 20: an XML scanner with batch and column, then its batch as XML.
            let scanner = try await RawHTTP.send(
                .PUT, base + "/TestRowResource/scanner", headers: xml,
                body: #"<Scanner batch="5"><column>\#(b64("a:1"))</column></Scanner>"#)
            #expect(scanner.status == 201)
            let location = try #require(scanner.header("Location"))
            let batch = try await RawHTTP.send(.GET, location, headers: xml)
            #expect(batch.status == 200)
            #expect(batch.text.contains(#"<Row key="\#(b64("testrow1"))">"#))

            // Example 5: an XML TableSchema creates the table; its schema comes back as XML.
            let schema = try await RawHTTP.send(
                .PUT, base + "/TestSchemaResource1/schema", headers: xml,
                body: #"<TableSchema name="TestSchemaResource1"><ColumnSchema name="f" VERSIONS="2"/></TableSchema>"#)
            #expect(schema.status == 201)
            let back = try await RawHTTP.send(.GET, base + "/TestSchemaResource1/schema", headers: xml)
            #expect(back.text.contains(#"<TableSchema name="TestSchemaResource1""#))
            #expect(back.text.contains(#"<ColumnSchema name="f""#))
            #expect(back.text.contains(#"VERSIONS="2""#))
            // Malformed XML is a 400; protobuf is HBase's but not the double's (501).
            #expect(
                try await RawHTTP.send(.PUT, base + "/TestRowResource/r", headers: xml, body: "<CellSet>").status == 400
            )
            let protobuf = try await RawHTTP.send(
                .PUT, base + "/TestRowResource/r", headers: [("Content-Type", "application/x-protobuf")], body: "x")
            #expect(protobuf.status == 501)
        }
    }

    @Test func anEncodedStarIsARowSpecWhoseDecodedStarGlobsTheWholeTable() async throws {
        try await withTable { (base: String) async throws in
            let seed = Self.cellSetJSON([
                (Array("abc".utf8), "a:1", "1"), (Array("abd".utf8), "a:1", "2"), (Array("x".utf8), "a:1", "3"),
            ])
            #expect(try await RawHTTP.json(.PUT, base + "/TestRowResource/seed", seed).status == 200)
            // Jersey matches `{rowspec: [^*]+}` on the encoded path; RowSpec decodes `*` and globs.
            let all = try await RawHTTP.send(.GET, base + "/TestRowResource/%2A")
            #expect(all.status == 200)
            for key in ["abc", "abd", "x"] { #expect(all.text.contains(b64(key))) }
            let prefixed = try await RawHTTP.send(.GET, base + "/TestRowResource/ab%2A")
            #expect(prefixed.text.contains(b64("abd")) && !prefixed.text.contains(b64("x")))
            // DELETE deletes the spec's start row: `abc%2A` deletes `abc` (RowResource.delete).
            #expect(try await RawHTTP.send(.DELETE, base + "/TestRowResource/abc%2A").status == 200)
            #expect(try await RawHTTP.send(.GET, base + "/TestRowResource/abc").status == 404)
            #expect(try await RawHTTP.send(.GET, base + "/TestRowResource/abd").status == 200)
            // A literal segment is matched encoded too: `%73chema` is the row `schema`, not SchemaResource.
            let schemaRow = Self.cellSetJSON([(Array("schema".utf8), "a:1", "s")])
            #expect(try await RawHTTP.json(.PUT, base + "/TestRowResource/%73chema", schemaRow).status == 200)
            let row = try await RawHTTP.send(.GET, base + "/TestRowResource/%73chema")
            #expect(row.text.contains(b64("s")))
        }
    }

    @Test func schemaListsFamiliesByNameBytesWithIsMetaAndTheFamilyDefaults() async throws {
        try await ContractTarget.withDouble { (url: URL) async throws in
            let base = url.absoluteString
            let body = #"{"name":"t","ColumnSchema":[{"name":"zeta"},{"name":"Beta","VERSIONS":"4"},{"name":"alpha"}]}"#
            #expect(try await RawHTTP.json(.PUT, base + "/t/schema", body).status == 201)
            let reply = try await RawHTTP.send(.GET, base + "/t/schema")
            let object = try #require(try JSONSerialization.jsonObject(with: reply.body) as? [String: Any])
            #expect(object["IS_META"] as? String == "false")
            let families = try #require(object["ColumnSchema"] as? [[String: Any]])
            #expect(families.compactMap { $0["name"] as? String } == ["Beta", "alpha", "zeta"])
            #expect(families[0]["VERSIONS"] as? String == "4")
            #expect(families[1]["VERSIONS"] as? String == "1")
            #expect(families[1]["BLOOMFILTER"] as? String == "ROW")
            #expect(families[1]["TTL"] as? String == "2147483647")
            // Jackson writes the bean properties before the @JsonAnyGetter map.
            #expect(reply.text.hasPrefix(#"{"name":"t","ColumnSchema":[{"name":"Beta","#))
            #expect(reply.text.hasSuffix(#"],"IS_META":"false"}"#))
            let text = try await RawHTTP.send(.GET, base + "/t/schema", headers: [("Accept", "text/plain")])
            #expect(text.text.hasPrefix("{ NAME=> 't', IS_META => 'false', COLUMNS => [ { NAME => 'Beta', "))
            #expect(
                text.text.hasSuffix(
                    " }, { NAME => 'zeta', BLOOMFILTER => 'ROW', IN_MEMORY => 'false', VERSIONS => '1', KEEP_DELETED_CELLS => 'FALSE', DATA_BLOCK_ENCODING => 'NONE', COMPRESSION => 'NONE', TTL => '2147483647', MIN_VERSIONS => '0', BLOCKCACHE => 'true', BLOCKSIZE => '65536', REPLICATION_SCOPE => '0' } ] }"
                ))
        }
    }

    @Test func aPathRowThatIsNotUTF8AddressesTheReplacementCharacterRow() async throws {
        try await withTable { (base: String) async throws in
            let replacement = Array("\u{FFFD}".utf8)
            let seed = Self.cellSetJSON([([0xFF], "a:1", "raw FF"), (replacement, "a:1", "U+FFFD")])
            #expect(try await RawHTTP.json(.PUT, base + "/TestRowResource/seed", seed).status == 200)
            // RowSpec: URLDecoder decodes %FF as UTF-8, which makes U+FFFD.
            let reply = try await RawHTTP.getRawTarget(base, "/TestRowResource/%FF")
            #expect(reply.status == 200)
            #expect(reply.text.contains(b64("U+FFFD")))
            #expect(!reply.text.contains(b64("raw FF")))
        }
    }
}
