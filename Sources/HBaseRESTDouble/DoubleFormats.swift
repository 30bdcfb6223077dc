import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The representations a gateway resource can produce or consume (HBASE_REST.md §1 media types, Constants).
enum DoubleFormat: Sendable, Equatable {
    case text
    case xml
    case json
    case protobuf
    case binary

    /// The media type written in `Content-Type`.
    var mediaType: String {
        switch self {
        case .text: return "text/plain"
        case .xml: return "text/xml"
        case .json: return "application/json"
        case .protobuf: return "application/x-protobuf"
        case .binary: return "application/octet-stream"
        }
    }

    /// The format of a media type name (both protobuf spellings, Constants@0606d492), `nil` if unknown.
    init?(mediaType: String) {
        switch mediaType {
        case "text/plain": self = .text
        case "text/xml", "application/xml": self = .xml
        case "application/json": self = .json
        case "application/x-protobuf", "application/protobuf": self = .protobuf
        case "application/octet-stream": self = .binary
        default: return nil
        }
    }

    /// The answer type for `Accept`, given a resource's `@Produces` list in its declared order.
    ///
    /// Jersey takes the client's types by quality (then as written) and, for a wildcard or no `Accept`,
    /// the resource's first declared type (§7.7). `nil` means 406.
    static func negotiate(accept: String?, produces: [DoubleFormat]) -> DoubleFormat? {
        let header = accept?.lowercased().trimmingCharacters(in: .whitespaces) ?? ""
        guard !header.isEmpty else { return produces.first }
        var ranges: [(type: String, quality: Double, order: Int)] = []
        for (order, item) in header.split(separator: ",").enumerated() {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 1.0
            }
            if quality > 0 { ranges.append((parts[0], quality, order)) }
        }
        ranges.sort { $0.quality != $1.quality ? $0.quality > $1.quality : $0.order < $1.order }
        for range in ranges {
            if range.type == "*/*" { return produces.first }
            if range.type.hasSuffix("/*") {
                let major = range.type.dropLast(1)
                if let match = produces.first(where: { $0.mediaType.hasPrefix(major) }) { return match }
                continue
            }
            if let format = DoubleFormat(mediaType: range.type), produces.contains(format) { return format }
        }
        return nil
    }
}

/// A parsed XML element: the subset JAXB's models use (attributes, child elements, text).
struct DoubleXMLElement: Sendable {
    var name: String
    var attributes: [String: String] = [:]
    /// Attribute names in document order (TableSchema's `anyAttribute` keeps order, §2).
    var attributeOrder: [String] = []
    var children: [DoubleXMLElement] = []
    var text = ""

    func children(named name: String) -> [DoubleXMLElement] { children.filter { $0.name == name } }

    /// Parses a document; `nil` for malformed XML (a gateway answers 400, §3.9).
    static func parse(_ data: Data) -> DoubleXMLElement? {
        let parser = XMLParser(data: data)
        let builder = Builder()
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else { return nil }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [DoubleXMLElement] = []
        var root: DoubleXMLElement?

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
        ) {
            var node = DoubleXMLElement(name: elementName)
            node.attributes = attributeDict
            node.attributeOrder = attributeDict.keys.sorted()
            stack.append(node)
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if !stack.isEmpty { stack[stack.count - 1].text += string }
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?
        ) {
            guard let node = stack.popLast() else { return }
            if stack.isEmpty {
                root = node
            } else {
                stack[stack.count - 1].children.append(node)
            }
        }
    }
}

/// Writing the JAXB XML the gateway produces (standalone document, attributes escaped).
enum DoubleXML {
    static let declaration = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#

    /// Escapes text for an attribute value or element content.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }

    /// `<name a="…" …>` or `<name … />` when `content` is nil.
    static func element(_ name: String, _ attributes: [(String, String)], content: String? = nil) -> String {
        let attrs = attributes.map { " \($0.0)=\"\(escape($0.1))\"" }.joined()
        guard let content else { return "<\(name)\(attrs)/>" }
        return "<\(name)\(attrs)>\(content)</\(name)>"
    }

    static func document(_ body: String) -> Data { Data((declaration + body).utf8) }
}

/// The iteration order of a `java.util.HashMap<Bytes, Bytes>` holding `keys`, inserted in the given order.
///
/// Table and column family descriptors keep their values in such maps (TableDescriptorBuilder,
/// ColumnFamilyDescriptorBuilder: `new HashMap<>()`), and TableSchemaModel / ColumnSchemaModel copy them
/// in that order. `Bytes.hashCode` is `31 * h + b` from 1 over signed bytes; HashMap spreads it
/// (`h ^ h >>> 16`) and walks buckets `(capacity - 1) & hash`, ties in insertion order [inferred: a
/// copied map's ties keep the source's order].
func javaHashMapOrder(_ keys: [String]) -> [String] {
    func hash(_ key: String) -> Int32 {
        var h: Int32 = 1
        for byte in key.utf8 { h = h &* 31 &+ Int32(Int8(bitPattern: byte)) }
        return h ^ Int32(bitPattern: UInt32(bitPattern: h) >> 16)
    }
    // A copy (putAll into a new map) sizes its table to tableSizeFor(size / 0.75 + 1), at least 1.
    let wanted = Int(Float(keys.count) / 0.75 + 1)
    var capacity = 1
    while capacity < wanted { capacity <<= 1 }
    return keys.enumerated().sorted { a, b in
        let bucketA = Int(hash(a.element)) & (capacity - 1)
        let bucketB = Int(hash(b.element)) & (capacity - 1)
        return bucketA != bucketB ? bucketA < bucketB : a.offset < b.offset
    }.map(\.element)
}
