import Foundation
import HBase
import HBaseRESTDouble
import HTTPTypes
import NIOHTTP1
import Testing

/// Wire facts of the double, checked with plain HTTP requests (not through the HBase module).
@Suite("hbase-rest-double wire")
struct HBaseRESTDoubleWireTests {
    static let schema = #"{"name":"ignored","ColumnSchema":[{"name":"a","VERSIONS":"3"},{"name":"b"}]}"#

    func withTable(_ body: (String) async throws -> Void) async throws {
        try await ContractTarget.withDouble { (url: URL) async throws in
            let base = url.absoluteString
            let created = try await RawHTTP.json(.PUT, base + "/TestRowResource/schema", Self.schema)
            #expect(created.status == 201)
            #expect(created.header("Location") == base + "/TestRowResource/schema")
            try await body(base)
        }
    }

    @Test func everyResponseCarriesTheSecurityHeaders() async throws {
        try await withTable { (base: String) async throws in
            for reply in [
                try await RawHTTP.send(.GET, base + "/version"),
                try await RawHTTP.send(.GET, base + "/TestRowResource/nothing"),
            ] {
                #expect(reply.header("X-Content-Type-Options") == "nosniff")
                #expect(reply.header("X-XSS-Protection") == "1; mode=block")
            }
        }
    }

    @Test func versionEndpointsAnswerJSONWithNoCache() async throws {
        try await withTable { (base: String) async throws in
            let rest = try await RawHTTP.send(.GET, base + "/version")
            #expect(rest.status == 200)
            #expect(rest.header("Cache-Control") == "no-cache")
            #expect(rest.text.contains(#""REST":"0.0.3""#))
            let cluster = try await RawHTTP.send(.GET, base + "/version/cluster")
            #expect(cluster.text.contains(#""Version":"#))
        }
    }

    @Test func missingRowIs404WithTheExactPlainTextBody() async throws {
        try await withTable { (base: String) async throws in
            let reply = try await RawHTTP.send(.GET, base + "/TestRowResource/testrow1/a:1")
            #expect(reply.status == 404)
            #expect(reply.text == "Not found\r\n")
            #expect(reply.header("Content-Type") == "text/plain")
        }
    }

    @Test func putWithRowKeysInTheBodyIgnoresThePathRow() async throws {
        // §3.4 / example 15: PUT /t/fakerow with rows testrow1 and testrow2 creates only those.
        try await withTable { (base: String) async throws in
            let body =
                #"{"Row":[{"key":"\#(b64("testrow1"))","Cell":[{"column":"\#(b64("a:1"))","$":"\#(b64("v1"))"}]},{"key":"\#(b64("testrow2"))","Cell":[{"column":"\#(b64("a:1"))","$":"\#(b64("v2"))"}]}]}"#
            #expect(try await RawHTTP.json(.PUT, base + "/TestRowResource/fakerow", body).status == 200)
            #expect(try await RawHTTP.send(.GET, base + "/TestRowResource/fakerow").status == 404)
            let row = try await RawHTTP.send(.GET, base + "/TestRowResource/testrow2")
            #expect(row.status == 200)
            #expect(row.text.contains(b64("v2")))
            #expect(row.text.contains(#""timestamp":"#))
        }
    }

    @Test func latestOfTwoTimestampsWins() async throws {
        // Example 16: two cells a:1 at ts 1 and 2; GET returns one cell, ts 2.
        try await withTable { (base: String) async throws in
            let body =
                #"{"Row":[{"key":"\#(b64("testrow1"))","Cell":[{"column":"\#(b64("a:1"))","timestamp":1,"$":"\#(b64("one"))"},{"column":"\#(b64("a:1"))","timestamp":2,"$":"\#(b64("two"))"}]}]}"#
            #expect(try await RawHTTP.json(.PUT, base + "/TestRowResource/testrow1", body).status == 200)
            let reply = try await RawHTTP.send(.GET, base + "/TestRowResource/testrow1")
            #expect(reply.text.contains(#""timestamp":2"#))
            #expect(!reply.text.contains(#""timestamp":1"#))
            #expect(reply.text.contains(b64("two")))
        }
    }

    @Test func putErrorsFollowRowResource() async throws {
        try await withTable { (base: String) async throws in
            let noKey = #"{"Row":[{"Cell":[{"column":"\#(b64("a:1"))","$":"eA=="}]}]}"#
            // The path row is the default key; without any row segment content there is none.
            let unknownFamily =
                #"{"Row":[{"key":"\#(b64("r"))","Cell":[{"column":"\#(b64("doesnot:exist"))","$":"eA=="}]}]}"#
            #expect(
                try await RawHTTP.json(.PUT, base + "/TestRowResource/r/doesnot:exist", unknownFamily).status == 404)
            let noColumn = #"{"Row":[{"key":"\#(b64("r"))","Cell":[{"$":"eA=="}]}]}"#
            let missingColumn = try await RawHTTP.json(.PUT, base + "/TestRowResource/r", noColumn)
            #expect(missingColumn.status == 400)
            #expect(missingColumn.text == "Bad request: Column found to be null.\r\n")
            let pathColumn = try await RawHTTP.json(.PUT, base + "/TestRowResource/r/a:1", noColumn)
            #expect(pathColumn.status == 200)
            let badCheck = try await RawHTTP.json(.PUT, base + "/TestRowResource/testrow1/a:1?check=blah", noKey)
            #expect(badCheck.status == 400)
            #expect(badCheck.text == "Invalid check value 'blah'\r\n")
        }
    }

    @Test func failedCheckAndPutIs304WithNoBody() async throws {
        try await withTable { (base: String) async throws in
            let seed = #"{"Row":[{"key":"\#(b64("r"))","Cell":[{"column":"\#(b64("a:1"))","$":"\#(b64("old"))"}]}]}"#
            #expect(try await RawHTTP.json(.PUT, base + "/TestRowResource/r", seed).status == 200)
            let check =
                #"{"Row":[{"key":"\#(b64("r"))","Cell":[{"column":"\#(b64("a:1"))","$":"\#(b64("new"))"},{"column":"\#(b64("a:1"))","$":"\#(b64("wrong"))"}]}]}"#
            let reply = try await RawHTTP.json(.PUT, base + "/TestRowResource/r?check=put", check)
            #expect(reply.status == 304)
            #expect(reply.body.isEmpty)
        }
    }

    @Test func scannerLifecycleIs201WithLocationThen200Then204AndDeleteAlways200() async throws {
        try await withTable { (base: String) async throws in
            var rows: [String] = []
            for i in 0..<3 {
                rows.append(
                    #"{"key":"\#(b64("row\(i)"))","Cell":[{"column":"\#(b64("a:1"))","$":"eA=="},{"column":"\#(b64("b:2"))","$":"eQ=="}]}"#
                )
            }
            #expect(
                try await RawHTTP.json(.PUT, base + "/TestRowResource/x", #"{"Row":[\#(rows.joined(separator: ","))]}"#)
                    .status == 200)
            let created = try await RawHTTP.json(.PUT, base + "/TestRowResource/scanner", #"{"batch":5}"#)
            #expect(created.status == 201)
            #expect(created.body.isEmpty)
            let location = try #require(created.header("Location"))
            #expect(location.hasPrefix(base + "/TestRowResource/scanner/"))
            let first = try await RawHTTP.send(.GET, location)
            #expect(first.status == 200)
            #expect(first.header("Cache-Control") == "no-cache")
            #expect(first.text.components(separatedBy: #""column""#).count - 1 == 5)
            let second = try await RawHTTP.send(.GET, location)
            #expect(second.status == 200)
            let done = try await RawHTTP.send(.GET, location)
            #expect(done.status == 204)
            #expect(done.body.isEmpty)
            #expect(try await RawHTTP.send(.DELETE, location).status == 200)
            #expect(try await RawHTTP.send(.GET, location).status == 404)
            #expect(try await RawHTTP.send(.DELETE, base + "/TestRowResource/scanner/unknown").status == 200)
        }
    }

    @Test func scannerSeesTheTableGoAwayAs410() async throws {
        try await withTable { (base: String) async throws in
            let seed = #"{"Row":[{"key":"\#(b64("r"))","Cell":[{"column":"\#(b64("a:1"))","$":"eA=="}]}]}"#
            #expect(try await RawHTTP.json(.PUT, base + "/TestRowResource/r", seed).status == 200)
            let location = try #require(
                try await RawHTTP.json(.PUT, base + "/TestRowResource/scanner", #"{"batch":1}"#).header("Location"))
            #expect(try await RawHTTP.send(.DELETE, base + "/TestRowResource/schema").status == 200)
            #expect(try await RawHTTP.send(.GET, location).status == 410)
        }
    }

    @Test func namespacesAnswerAsNamespacesInstanceResource() async throws {
        try await withTable { (base: String) async throws in
            let created = try await RawHTTP.send(.POST, base + "/namespaces/nsx")
            #expect(created.status == 201)
            #expect(created.header("Location") == base + "/namespaces/nsx")
            let again = try await RawHTTP.send(.POST, base + "/namespaces/nsx")
            #expect(again.status == 403)
            #expect(again.text == "Namespace 'nsx' already exists.  Use REST PUT to alter the existing namespace.")
            let alterMissing = try await RawHTTP.json(.PUT, base + "/namespaces/nsy", #"{"properties":{}}"#)
            #expect(alterMissing.status == 403)
            #expect(try await RawHTTP.send(.DELETE, base + "/namespaces/default").status == 503)
            #expect(try await RawHTTP.send(.DELETE, base + "/namespaces/nsx").status == 200)
            #expect(try await RawHTTP.send(.DELETE, base + "/namespaces/nsx").status == 404)
            let list = try await RawHTTP.send(.GET, base + "/namespaces")
            #expect(list.text == #"{"Namespace":["default","hbase"]}"#)
        }
    }

    @Test func otherMediaTypesAreRefusedNotInvented() async throws {
        try await withTable { (base: String) async throws in
            // §7.7: without Accept a gateway answers its first @Produces type (text for /version).
            #expect(try await RawHTTP.send(.GET, base + "/version", headers: []).header("Content-Type") == "text/plain")
            #expect(try await RawHTTP.send(.GET, base + "/version", headers: [("Accept", "text/xml")]).status == 200)
            #expect(try await RawHTTP.send(.GET, base + "/version", headers: [("Accept", "image/png")]).status == 406)
            // Protobuf is HBase's, not the double's: 501 rather than invented bytes.
            let protobuf = try await RawHTTP.send(
                .GET, base + "/version", headers: [("Accept", "application/x-protobuf")])
            #expect(protobuf.status == 501)
            let form = try await RawHTTP.send(
                .PUT, base + "/TestRowResource/r", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: "a=b")
            #expect(form.status == 415)
            // /regions is a GET resource only.
            #expect(try await RawHTTP.send(.DELETE, base + "/TestRowResource/regions").status == 405)
        }
    }

    @Test func schemaGetUsesTheURLNameAndStringValues() async throws {
        try await withTable { (base: String) async throws in
            let reply = try await RawHTTP.send(.GET, base + "/TestRowResource/schema")
            #expect(reply.status == 200)
            #expect(reply.header("Cache-Control") == "no-cache")
            #expect(reply.text.contains(#""name":"TestRowResource""#))
            #expect(reply.text.contains(#""VERSIONS":"3""#))
            #expect(try await RawHTTP.send(.GET, base + "/TestRowResource/exists").status == 200)
            #expect(try await RawHTTP.send(.GET, base + "/Nope/exists").status == 404)
            #expect(try await RawHTTP.send(.GET, base + "/Nope/schema").text == "Not found\r\n")
        }
    }

    @Test func plusInAPathRowIsASpaceAsURLDecoderReadsIt() async throws {
        // §7.5: a raw `+` in the path decodes to a space.
        try await withTable { (base: String) async throws in
            let seed = #"{"Row":[{"key":"\#(b64("a b"))","Cell":[{"column":"\#(b64("a:1"))","$":"eA=="}]}]}"#
            #expect(try await RawHTTP.json(.PUT, base + "/TestRowResource/x", seed).status == 200)
            #expect(try await RawHTTP.send(.GET, base + "/TestRowResource/a+b").status == 200)
            #expect(try await RawHTTP.send(.GET, base + "/TestRowResource/a%2Bb").status == 404)
        }
    }
}

/// The double keeps acknowledged writes in its journal across restarts.
@Suite("hbase-rest-double persistence")
struct HBaseRESTDoublePersistenceTests {
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hbase-double-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func acknowledgedWritesSurviveARestart() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let table = HBaseTableName("persist", namespace: "ns")
        try await ContractTarget.withDouble(dataDirectory: directory) { (url: URL) async throws in
            try await HBaseClient.withClient(configuration: HBaseClientConfiguration(baseURL: url)) {
                (client: HBaseClient) async throws in
                try await client.createNamespace("ns")
                try await client.createOrReplaceTable(
                    HBaseTableSchema(table: table, families: [HBaseColumnFamily("cf", maxVersions: 2)]))
                try await client.put(
                    (0..<50).map {
                        HBaseRow(
                            key: String(format: "r%02d", $0),
                            cells: [HBaseCell(column: col("cf", "v"), string: "\($0)")])
                    }, into: table)
                try await client.delete(Data("r07".utf8), from: table)
            }
        }
        try await ContractTarget.withDouble(dataDirectory: directory) { (url: URL) async throws in
            try await HBaseClient.withClient(configuration: HBaseClientConfiguration(baseURL: url)) {
                (client: HBaseClient) async throws in
                #expect(try await client.tableSchema(table).family("cf")?.maxVersions == 2)
                let rows = try await client.scan(HBaseScan(), in: table)
                #expect(rows.count == 49)
                #expect(try await client.row("r07", in: table) == nil)
                #expect(try await client.row("r42", in: table)?.string(of: col("cf", "v")) == "42")
            }
        }
    }

    @Test func aTornLastJournalLineIsDroppedNotFatal() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let table = HBaseTableName("torn")
        try await ContractTarget.withDouble(dataDirectory: directory) { (url: URL) async throws in
            try await HBaseClient.withClient(configuration: HBaseClientConfiguration(baseURL: url)) {
                (client: HBaseClient) async throws in
                try await client.createOrReplaceTable(
                    HBaseTableSchema(table: table, families: [HBaseColumnFamily("cf")]))
                try await client.put(
                    HBaseRow(key: "kept", cells: [HBaseCell(column: col("cf", "v"), string: "1")]), into: table)
            }
        }
        let journal = URL(fileURLWithPath: directory).appendingPathComponent("journal.jsonl")
        let handle = try FileHandle(forWritingTo: journal)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"put":{"table":"torn","ro"#.utf8))
        try handle.close()
        try await ContractTarget.withDouble(dataDirectory: directory) { (url: URL) async throws in
            try await HBaseClient.withClient(configuration: HBaseClientConfiguration(baseURL: url)) {
                (client: HBaseClient) async throws in
                #expect(try await client.row("kept", in: table) != nil)
                try await client.put(
                    HBaseRow(key: "after", cells: [HBaseCell(column: col("cf", "v"), string: "2")]), into: table)
            }
        }
        try await ContractTarget.withDouble(dataDirectory: directory) { (url: URL) async throws in
            try await HBaseClient.withClient(configuration: HBaseClientConfiguration(baseURL: url)) {
                (client: HBaseClient) async throws in
                #expect(try await client.scan(HBaseScan(), in: table).map(\.keyString) == ["after", "kept"])
            }
        }
    }
}
