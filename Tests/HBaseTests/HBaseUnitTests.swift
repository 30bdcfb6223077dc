import Foundation
import Testing

@testable import HBase

@Suite("HBase codec and paths")
struct HBaseCodecTests {
    @Test func cellSetRoundTripsBinaryKeysColumnsAndValues() throws {
        let rows = [
            HBaseRow(
                key: Data([0x00, 0xFF, 0x10]),
                cells: [
                    HBaseCell(
                        column: HBaseColumn(family: Data("cf".utf8), qualifier: Data([0x01, 0x3A])),
                        value: Data([0xDE, 0xAD]), timestamp: 42),
                    HBaseCell(column: HBaseColumn("cf", "q"), string: "text"),
                ])
        ]
        let data = try HBaseCodec.encodeCellSet(rows)
        let decoded = try HBaseCodec.decodeCellSet(data)
        #expect(decoded == rows)
    }

    @Test func cellSetUsesTheSpecShapeWithBase64() throws {
        // HBASE_REST.md §2 / TestCellSetModel: key "testrow1" is dGVzdHJvdzE=, column a:1 is YTox.
        let row = HBaseRow(
            key: "testrow1", cells: [HBaseCell(column: HBaseColumn("a", "1"), string: "x", timestamp: 7)])
        let json = try #require(
            try JSONSerialization.jsonObject(with: HBaseCodec.encodeCellSet([row])) as? [String: Any])
        let wireRow = try #require((json["Row"] as? [[String: Any]])?.first)
        #expect(wireRow["key"] as? String == "dGVzdHJvdzE=")
        let cell = try #require((wireRow["Cell"] as? [[String: Any]])?.first)
        #expect(cell["column"] as? String == "YTox")
        #expect(cell["$"] as? String == "eA==")
        #expect((cell["timestamp"] as? NSNumber)?.int64Value == 7)
    }

    @Test func cellWithoutTimestampOmitsItSoTheServerAssignsTime() throws {
        let data = try HBaseCodec.encodeCellSet([
            HBaseRow(key: "r", cells: [HBaseCell(column: HBaseColumn("a", "b"), string: "v")])
        ])
        #expect(!String(decoding: data, as: UTF8.self).contains("timestamp"))
    }

    @Test func decodingACellSetWithoutRowsGivesNoRows() throws {
        #expect(try HBaseCodec.decodeCellSet(Data("{}".utf8)).isEmpty)
        #expect(try HBaseCodec.decodeCellSet(Data(#"{"Row":[]}"#.utf8)).isEmpty)
    }

    @Test func schemaSendsStringAttributesAndParsesNumbersOrStrings() throws {
        let schema = HBaseTableSchema(
            table: HBaseTableName("t", namespace: "ns"),
            families: [HBaseColumnFamily("cf", maxVersions: 3, timeToLive: 60, attributes: ["BLOOMFILTER": "ROW"])])
        let json = try #require(
            try JSONSerialization.jsonObject(with: HBaseCodec.encodeSchema(schema)) as? [String: Any])
        #expect(json["name"] as? String == "ns:t")
        let family = try #require((json["ColumnSchema"] as? [[String: Any]])?.first)
        #expect(family["VERSIONS"] as? String == "3")
        #expect(family["TTL"] as? String == "60")
        #expect(family["BLOOMFILTER"] as? String == "ROW")

        let parsed = try HBaseCodec.decodeSchema(
            Data(
                #"{"name":"t","IS_META":"false","ColumnSchema":[{"name":"cf","VERSIONS":"1","TTL":"2147483647"},{"name":"b","VERSIONS":4}]}"#
                    .utf8),
            table: HBaseTableName("t")
        )
        #expect(parsed.attributes["IS_META"] == "false")
        #expect(parsed.family("cf")?.maxVersions == 1)
        #expect(parsed.family("cf")?.timeToLive == nil)
        #expect(parsed.family("b")?.maxVersions == 4)
    }

    @Test func scannerModelCarriesBase64BoundsAndColumns() throws {
        let data = try HBaseCodec.encodeScanner(HBaseScan.prefix("ab", columns: [HBaseColumn("cf", "q")], batch: 10))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["startRow"] as? String == b64("ab"))
        #expect(json["endRow"] as? String == b64("ac"))
        #expect(json["column"] as? [String] == [b64("cf:q")])
        #expect(json["batch"] as? Int == 10)
        #expect(json["limit"] == nil)
    }

    @Test func prefixSuccessorDropsTrailingFFAndIncrements() {
        #expect(HBaseScan.successor(ofPrefix: Data("ab".utf8)) == Data("ac".utf8))
        #expect(HBaseScan.successor(ofPrefix: Data([0x61, 0xFF, 0xFF])) == Data([0x62]))
        #expect(HBaseScan.successor(ofPrefix: Data([0xFF])) == nil)
        #expect(HBaseScan.successor(ofPrefix: Data()) == nil)
    }

    @Test func columnWireFormSplitsAtTheFirstColon() {
        let column = HBaseColumn(wire: Data("cf:a:b".utf8))
        #expect(column == HBaseColumn("cf", "a:b"))
        #expect(HBaseColumn(wire: Data("cf".utf8)) == HBaseColumn("cf", nil))
        #expect(HBaseColumn(wire: Data("cf:".utf8)) == HBaseColumn("cf", ""))
    }

    @Test func pathEncodingEscapesEverythingOutsideUnreserved() {
        #expect(HBasePath.encode("AZaz09-._~") == "AZaz09-._~")
        #expect(HBasePath.encode("a+b/c,d*e:f g%?&=") == "a%2Bb%2Fc%2Cd%2Ae%3Af%20g%25%3F%26%3D")
        #expect(HBasePath.encode([0x00, 0xFF]) == "%00%FF")
        #expect(HBasePath.encode("é") == "%C3%A9")
    }

    @Test func rowKeysNamedLikeTableResourcesGetTheirFirstByteEncoded() {
        // Jersey routes `exists`, `regions`, `scanner`, `schema` and `multiget…` before `{rowspec}`,
        // matching the encoded path: `%73chema` is a row spec that RowSpec decodes to `schema`.
        #expect(HBasePath.rowSegment(Data("schema".utf8)) == "%73chema")
        #expect(HBasePath.rowSegment(Data("multiget-7".utf8)) == "%6Dultiget-7")
        #expect(HBasePath.rowSegment(Data("exists".utf8)) == "%65xists")
        #expect(HBasePath.rowSegment(Data("schemas".utf8)) == "schemas")
        #expect(HBasePath.row(HBaseTableName("t"), key: Data("regions".utf8)) == "/t/%72egions")
    }

    @Test func onlyValidUTF8KeysWithoutATrailingStarAreAddressableInAPath() {
        #expect(HBasePath.isPathAddressable(Data("row 1/é".utf8)))
        #expect(HBasePath.isPathAddressable(Data("a*b".utf8)))
        #expect(!HBasePath.isPathAddressable(Data([0xFF])))
        #expect(!HBasePath.isPathAddressable(Data([0x61, 0xC3])))
        #expect(!HBasePath.isPathAddressable(Data("ab*".utf8)))
        #expect(!HBasePath.isPathAddressable(Data()))
    }

    @Test func rowPathsNameTableRowColumnsAndTimeRange() {
        let table = HBaseTableName("t", namespace: "ns")
        #expect(HBasePath.row(table, key: Data("r/1".utf8)) == "/ns%3At/r%2F1")
        #expect(
            HBasePath.row(table, key: Data("r".utf8), columns: [HBaseColumn("a", "1"), HBaseColumn("b", nil)])
                == "/ns%3At/r/a%3A1,b")
        #expect(
            HBasePath.row(table, key: Data("r".utf8), columns: [HBaseColumn("a", "1")], timeRange: 3..<5)
                == "/ns%3At/r/a%3A1/3,5")
        #expect(HBasePath.table(HBaseTableName("t", namespace: "default")) == "/t")
    }

    @Test func tableNamesParseAndPrintQualified() {
        #expect(HBaseTableName(qualified: "ns:t") == HBaseTableName("t", namespace: "ns"))
        #expect(HBaseTableName(qualified: "t") == HBaseTableName("t"))
        #expect(HBaseTableName("t", namespace: "default").qualified == "t")
    }
}

@Suite("HBase retry policy")
struct HBaseRetryPolicyTests {
    let policy = HBaseRetryPolicy(
        maxAttempts: 4, initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(350), multiplier: 2)

    @Test func idempotentRequestsRetryOn503RefusedAndReset() {
        for outcome in [HBaseRequestOutcome.status(503), .connectionRefused, .connectionReset] {
            #expect(policy.action(after: outcome, attempt: 1, isIdempotent: true) == .retry(after: .milliseconds(100)))
        }
    }

    @Test func nonIdempotentRequestsNeverRetry() {
        for outcome in [HBaseRequestOutcome.status(503), .connectionRefused, .connectionReset, .timeout] {
            #expect(policy.action(after: outcome, attempt: 1, isIdempotent: false) == .giveUp)
        }
    }

    @Test func otherStatusesTimeoutsAndTransportErrorsAreFinal() {
        for outcome in [
            HBaseRequestOutcome.status(200), .status(400), .status(404), .status(500), .status(502), .timeout,
            .otherTransportError,
        ] {
            #expect(policy.action(after: outcome, attempt: 1, isIdempotent: true) == .giveUp)
        }
    }

    @Test func backoffGrowsExponentiallyUpToTheCapAndStopsAtMaxAttempts() {
        #expect(policy.action(after: .status(503), attempt: 2, isIdempotent: true) == .retry(after: .milliseconds(200)))
        #expect(policy.action(after: .status(503), attempt: 3, isIdempotent: true) == .retry(after: .milliseconds(350)))
        #expect(policy.action(after: .status(503), attempt: 4, isIdempotent: true) == .giveUp)
        #expect(HBaseRetryPolicy.never.action(after: .status(503), attempt: 1, isIdempotent: true) == .giveUp)
    }
}

@Suite("HBase errors")
struct HBaseErrorTests {
    let context = HBaseClient.Context(
        operation: "put", table: HBaseTableName("experiments", namespace: "sonarlab"), row: Data("run-7".utf8))

    @Test(arguments: [
        (304, HBaseError.conditionNotMet), (400, .badRequest), (401, .unauthorized), (403, .forbidden),
        (404, .tableNotFound), (410, .scannerGone), (500, .serverError), (501, .notImplemented), (503, .unavailable),
        (418, .unexpectedResponse),
    ])
    func statusesMapToCodes(status: Int, expected: HBaseError) {
        let error = HBaseClient.error(status: status, body: Data(), context: context)
        #expect(error == expected)
        #expect(error.status == status)
    }

    @Test func notFoundFollowsTheRequestKind() {
        var rowContext = context
        rowContext.notFound = .rowNotFound
        #expect(HBaseClient.error(status: 404, body: Data(), context: rowContext) == .rowNotFound)
    }

    @Test func messagesNameTableAndRowAndDropTheJavaStackTrace() {
        let body = Data(
            "Bad request: Row key not specified.\r\njava.lang.IllegalArgumentException: boom\r\n\tat org.apache.hadoop.hbase.rest.RowResource.update(RowResource.java:100)\r\n\tat x.y(Z.java:1)\r\n"
                .utf8)
        let error = HBaseClient.error(status: 400, body: body, context: context)
        #expect(error.message.contains("sonarlab:experiments"))
        #expect(error.message.contains("run-7"))
        #expect(error.message.contains("Row key not specified."))
        #expect(!error.message.contains("RowResource.java"))
        #expect(!error.message.contains("\tat"))
    }

    @Test func equalityComparesCodesOnly() {
        #expect(HBaseError.forbidden.with("a") == HBaseError.forbidden.with("b"))
        #expect(HBaseError.forbidden != HBaseError.unauthorized)
    }

    @Test func basicAuthenticatorNeverPrintsItsPassword() async throws {
        let auth = HBaseBasicAuthenticator(user: "trainer", password: "s3cr3t-Pa55")
        #expect(!String(describing: auth).contains("s3cr3t-Pa55"))
        #expect(!String(reflecting: auth).contains("s3cr3t-Pa55"))
        var dumped = ""
        dump(HBaseClientConfiguration(baseURL: URL(string: "https://h.example")!, authenticator: auth), to: &dumped)
        #expect(!dumped.contains("s3cr3t-Pa55"))
        #expect(dumped.contains("trainer"))
        let headers = try await auth.headers(for: HBaseAuthenticationRequest(host: "h", method: "GET", path: "/"))
        #expect(
            headers == [
                HBaseHeader(
                    name: "Authorization", value: "Basic " + Data("trainer:s3cr3t-Pa55".utf8).base64EncodedString())
            ])
    }
}

@Suite("HBase configuration")
struct HBaseConfigurationTests {
    @Test func plainHTTPToANonLoopbackHostIsRefusedUnlessAllowed() throws {
        let url = try #require(URL(string: "http://hbase.example.org:1/"))
        #expect(throws: HBaseError.invalidConfiguration) { try HBaseClientConfiguration(baseURL: url).validate() }
        try HBaseClientConfiguration(baseURL: url, allowsInsecureTransport: true).validate()
        try HBaseClientConfiguration(baseURL: try #require(URL(string: "https://hbase.example.org/"))).validate()
    }

    @Test func basicCredentialsNeedHTTPSOrAnExplicitLoopbackException() throws {
        let auth = HBaseBasicAuthenticator(user: "u", password: "p")
        let loopback = try #require(URL(string: "http://127.0.0.1:1/"))
        #expect(throws: HBaseError.invalidConfiguration) {
            try HBaseClientConfiguration(baseURL: loopback, authenticator: auth).validate()
        }
        try HBaseClientConfiguration(baseURL: loopback, authenticator: auth, allowsCredentialsOverLoopbackHTTP: true)
            .validate()
        let remote = try #require(URL(string: "http://hbase.example.org/"))
        #expect(throws: HBaseError.invalidConfiguration) {
            try HBaseClientConfiguration(
                baseURL: remote, authenticator: auth, allowsInsecureTransport: true,
                allowsCredentialsOverLoopbackHTTP: true
            ).validate()
        }
    }

    @Test func loopbackDetection() {
        for host in ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1"] {
            #expect(HBaseClientConfiguration.isLoopback(host: host), "\(host)")
        }
        for host in ["10.0.0.1", "128.0.0.1", "example.org", "::2", "127.example.org"] {
            #expect(!HBaseClientConfiguration.isLoopback(host: host), "\(host)")
        }
    }

    @Test func unreadableCAFileIsAConfigurationError() throws {
        let url = try #require(URL(string: "https://hbase.example.org/"))
        #expect(throws: HBaseError.invalidConfiguration) {
            _ = try HBaseClient(
                configuration: HBaseClientConfiguration(baseURL: url, tls: .init(caFile: "/nonexistent/ca.pem")))
        }
    }
}

@Suite("HBase CellSet fast path")
struct HBaseCellSetFastPathTests {
    static let rows = [
        HBaseRow(
            key: Data([0x00, 0xFF, 0x22, 0x5C]),
            cells: [
                HBaseCell(
                    column: HBaseColumn(family: Data("cf".utf8), qualifier: Data([0x01, 0x3A])),
                    value: Data([0xDE, 0xAD]), timestamp: 1_795_944_361_762),
                HBaseCell(column: HBaseColumn("cf", "q"), string: "text \"quoted\" \\ é", timestamp: -3),
            ]),
        HBaseRow(key: "second", cells: [HBaseCell(column: HBaseColumn("m", ""), value: Data())]),
    ]

    @Test func fastEncoderMatchesJSONEncoderSemantically() throws {
        let fast = try HBaseCodec.encodeCellSet(Self.rows)
        let reference = try HBaseCodec.encodeCellSetWithFoundation(Self.rows)
        let a = try JSONSerialization.jsonObject(with: fast) as? NSDictionary
        let b = try JSONSerialization.jsonObject(with: reference) as? NSDictionary
        #expect(a != nil && a == b)
    }

    @Test func fastDecoderAgreesWithJSONDecoderAndSkipsUnknownFields() throws {
        let text = """
            { "Row" : [ {"key":"AP8iXA==", "extra": {"a": [1, 2.5, true, null, "x"]}, "Cell":[
              {"column":"Y2Y6AAo6", "timestamp": 1795944361762, "$":"3q0="},
              {"timestamp":-3,"$":"","column":"bTo="} ]},
              {"Cell":[],"key":"c2Vjb25k"} ], "other": "ignored" }
            """
        let data = Data(text.utf8)
        let fast = try #require(HBaseCodec.decodeCellSetFast(data))
        #expect(fast == (try HBaseCodec.decodeCellSetWithFoundation(data)))
        #expect(fast.count == 2)
        #expect(fast[0].cells[0].timestamp == 1_795_944_361_762)
    }

    @Test("a member the fast path reads, given twice, is left to JSONDecoder (found by fuzz-cellset)")
    func fastDecoderDeclinesDuplicateMembers() throws {
        for text in [
            #"{"Row":[{"key":"YQ==","Cell":[{"column":"Y2Y6cQ==","$":"eA==","$":"eQ=="}]}]}"#,
            #"{"Row":[{"key":"YQ==","Cell":[{"column":"Y2Y6cQ==","column":"Y2Y6cg==","$":""}]}]}"#,
            #"{"Row":[{"key":"YQ==","Cell":[{"column":"Y2Y6cQ==","timestamp":1,"timestamp":2,"$":""}]}]}"#,
            #"{"Row":[{"key":"YQ==","key":"Yg==","Cell":[]}]}"#,
            #"{"Row":[{"key":"YQ==","Cell":[],"Cell":[{"column":"Y2Y6cQ==","$":""}]}]}"#,
            #"{"Row":[{"key":"YQ=="}],"Row":[{"key":"Yg=="}]}"#,
        ] {
            let data = Data(text.utf8)
            #expect(HBaseCodec.decodeCellSetFast(data) == nil, "\(text)")
            #expect(try HBaseCodec.decodeCellSet(data) == HBaseCodec.decodeCellSetWithFoundation(data))
        }
    }

    @Test("deeply nested skipped values are declined, not followed until the stack overflows (found by fuzzing)")
    func fastDecoderBoundsItsNesting() throws {
        let depth = 100_000
        let data = Data(
            ("{\"Row\":[],\"x\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}")
                .utf8)
        #expect(HBaseCodec.decodeCellSetFast(data) == nil)
        #expect(throws: (any Error).self) { try HBaseCodec.decodeCellSet(data) }
        let shallow = Data(#"{"Row":[],"x":[[[{"a":[1]}]]]}"#.utf8)
        #expect(HBaseCodec.decodeCellSetFast(shallow) == [])
    }

    @Test func fastDecoderDeclinesWhatItDoesNotKnowAndTheFallbackStillReads() throws {
        // An escaped slash in a base64 string is legal JSON; the fast path declines it.
        let data = Data(#"{"Row":[{"key":"YS9i","Cell":[{"column":"Y2Y6cQ==","timestamp":1,"$":"eC95\/"}]}]}"#.utf8)
        #expect(HBaseCodec.decodeCellSetFast(data) == nil)
        #expect(
            HBaseCodec.decodeCellSetFast(
                Data(#"{"Row":[{"key":"YQ==","Cell":[{"column":"Y2Y6cQ==","timestamp":1.5,"$":""}]}]}"#.utf8)) == nil)
        #expect(HBaseCodec.decodeCellSetFast(Data(#"{"Row":[]} trailing"#.utf8)) == nil)
        #expect(
            try HBaseCodec.decodeCellSet(
                Data(#"{"Row":[{"key":"YQ==","Cell":[{"column":"Y2Y6cQ==","timestamp":1,"$":"eA=="}]}]}"#.utf8)
            ).first?.cells.first?.value == Data("x".utf8))
    }

    @Test func roundTripThroughBothPaths() throws {
        let encoded = try HBaseCodec.encodeCellSet(Self.rows)
        #expect(HBaseCodec.decodeCellSetFast(encoded) == Self.rows)
        #expect(try HBaseCodec.decodeCellSetWithFoundation(encoded) == Self.rows)
    }
}
