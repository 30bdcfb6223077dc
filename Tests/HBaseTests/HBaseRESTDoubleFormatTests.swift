import Foundation
import Testing

@testable import HBaseRESTDouble

/// Content negotiation and descriptor ordering inside the double.
@Suite("hbase-rest-double formats")
struct HBaseRESTDoubleFormatTests {
    @Test func acceptPicksByQualityThenOrderAndWildcardsPickTheFirstProducedType() {
        let produces: [DoubleFormat] = [.text, .xml, .json, .protobuf]
        #expect(DoubleFormat.negotiate(accept: nil, produces: produces) == .text)
        #expect(DoubleFormat.negotiate(accept: "*/*", produces: produces) == .text)
        #expect(DoubleFormat.negotiate(accept: "application/json", produces: produces) == .json)
        #expect(DoubleFormat.negotiate(accept: "text/xml;q=0.5, application/json", produces: produces) == .json)
        #expect(DoubleFormat.negotiate(accept: "application/*", produces: [.xml, .json]) == .json)
        #expect(DoubleFormat.negotiate(accept: "application/protobuf", produces: produces) == .protobuf)
        #expect(DoubleFormat.negotiate(accept: "text/plain", produces: [.xml, .json]) == nil)
        #expect(DoubleFormat.negotiate(accept: "application/json;q=0", produces: produces) == nil)
    }

    @Test func descriptorValuesComeOutInJavaHashMapOrder() {
        // Expected lists printed by OpenJDK's java.util.HashMap for keys hashed like HBase's Bytes
        // (31 * h + b from 1), filled as ColumnFamilyDescriptorBuilder fills them, then copied.
        let defaults = DoubleRepresentations.familyDefaults.map(\.0)
        #expect(
            javaHashMapOrder(defaults) == [
                "BLOOMFILTER", "IN_MEMORY", "VERSIONS", "KEEP_DELETED_CELLS", "DATA_BLOCK_ENCODING", "COMPRESSION",
                "TTL", "MIN_VERSIONS", "BLOCKCACHE", "BLOCKSIZE", "REPLICATION_SCOPE",
            ])
        #expect(
            javaHashMapOrder(defaults + ["FOO", "BAR"]) == [
                "VERSIONS", "FOO", "KEEP_DELETED_CELLS", "DATA_BLOCK_ENCODING", "TTL", "MIN_VERSIONS",
                "REPLICATION_SCOPE", "BLOOMFILTER", "BAR", "IN_MEMORY", "COMPRESSION", "BLOCKCACHE", "BLOCKSIZE",
            ])
    }
}
