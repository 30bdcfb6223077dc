/// A JSON value as the service reads request bodies: objects keep their keys in order, and a key that appears
/// twice in one object is refused (RFC 8259 §4 leaves duplicates to the reader; silently keeping one of two
/// `inputs` would score data the caller did not mean).
///
/// Numbers keep their text's value as a `Double` (parsed with `Double(String)`, which is locale-independent);
/// `NaN` and `Infinity` are not JSON and are refused as syntax errors.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a.elementsEqual(b) { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The value of `key` in an object, else `nil`.
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    /// A short name of the value's JSON type, for messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// Parses UTF-8 JSON text.
    /// - Parameter bytes: The text.
    /// - Returns: The value.
    /// - Throws: ``ServingError/Code/badRequest`` naming the byte offset of a syntax error, or the duplicated key.
    static func parse(_ bytes: [UInt8]) throws(ServingError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        return try parser.document()
    }
}

/// A recursive-descent JSON reader (RFC 8259) over bytes; depth-limited so hostile nesting cannot exhaust the stack.
private struct JSONParser {
    let bytes: [UInt8]
    var index = 0
    static let maxDepth = 64
    /// Where the parser is (keys and array indices), turned into text only for a message: formatting a path per
    /// element cost more than the rest of the parse for a 52 × 60 request.
    var path: [PathStep] = []

    enum PathStep {
        case key(String)
        case index(Int)
    }

    /// The current path with `key` appended, as `inputs[0].data`.
    func pathText(appending key: String) -> String {
        var text = ""
        for step in path {
            switch step {
            case .key(let k): text += text.isEmpty ? k : ".\(k)"
            case .index(let i): text += "[\(i)]"
            }
        }
        return text.isEmpty ? key : "\(text).\(key)"
    }

    init(bytes: [UInt8]) {
        self.bytes = bytes
        // A UTF-8 byte-order mark is tolerated (RFC 8259 §8.1 allows readers to ignore it).
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    }

    mutating func document() throws(ServingError) -> JSONValue {
        skipSpace()
        guard index < bytes.count else { throw fail("the body is empty; expected a JSON object") }
        let value = try parseValue(depth: 0)
        skipSpace()
        guard index == bytes.count else { throw fail("unexpected text after the JSON value") }
        return value
    }

    func fail(_ reason: String) -> ServingError {
        ServingError(.badRequest, "invalid JSON at byte \(index): \(reason)")
    }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(ServingError) -> JSONValue {
        guard depth < Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
        guard index < bytes.count else { throw fail("the body ends before the JSON does") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default:
            throw fail("unexpected character (NaN and Infinity are not JSON numbers)")
        }
    }

    mutating func literal(_ word: String, _ value: JSONValue) throws(ServingError) -> JSONValue {
        let w = Array(word.utf8)
        guard bytes.count - index >= w.count, Array(bytes[index..<index + w.count]) == w else {
            throw fail("unexpected word (NaN and Infinity are not JSON numbers)")
        }
        index += w.count
        return value
    }

    mutating func parseObject(depth: Int) throws(ServingError) -> JSONValue {
        index += 1
        var members: [(String, JSONValue)] = []
        var seen = Set<String>()
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let key = try parseString()
            guard seen.insert(key).inserted else {
                throw ServingError(.badRequest, "duplicate JSON key '\(pathText(appending: key))'")
            }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipSpace()
            path.append(.key(key))
            members.append((key, try parseValue(depth: depth + 1)))
            path.removeLast()
            skipSpace()
            guard index < bytes.count else { throw fail("the body ends inside an object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
            index += 1
            return .object(members)
        }
    }

    mutating func parseArray(depth: Int) throws(ServingError) -> JSONValue {
        index += 1
        var elements: [JSONValue] = []
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipSpace()
            path.append(.index(elements.count))
            elements.append(try parseValue(depth: depth + 1))
            path.removeLast()
            skipSpace()
            guard index < bytes.count else { throw fail("the body ends inside an array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
            index += 1
            return .array(elements)
        }
    }

    /// Powers of ten that a `Double` holds exactly (10^0 … 10^22).
    static let exactPowersOfTen: [Double] = (0...22).map { (0..<$0).reduce(1.0) { p, _ in p * 10 } }

    /// Reads a JSON number (RFC 8259 §6) and returns the nearest `Double`.
    ///
    /// Most request values (`0.0200`, `0.3714`) take Clinger's fast path: at most 15 significant digits and a
    /// decimal exponent within ±22, where `m · 10^e` or `m / 10^-e` of two exact doubles is the correctly
    /// rounded result (W. D. Clinger, "How to Read Floating Point Numbers Accurately", PLDI 1990). Every other
    /// number goes through `Double(String)`, as before; both give the same bits.
    mutating func parseNumber() throws(ServingError) -> Double {
        let start = index
        var mantissa: UInt64 = 0
        var significant = 0
        var fractionDigits = 0
        func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }
        func digits(counting fraction: Bool) -> Int {
            let s = index
            while index < bytes.count, isDigit(bytes[index]) {
                let d = bytes[index] &- UInt8(ascii: "0")
                if significant > 0 || d != 0 { significant += 1 }
                if significant <= 15 { mantissa = mantissa &* 10 &+ UInt64(d) }
                if fraction { fractionDigits += 1 }
                index += 1
            }
            return index - s
        }
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let intStart = index
        guard digits(counting: false) > 0 else { throw fail("a number needs digits") }
        if bytes[intStart] == UInt8(ascii: "0"), index - intStart > 1 { throw fail("a number has a leading zero") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(counting: true) > 0 else { throw fail("a number needs digits after '.'") }
        }
        var hasExponent = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            hasExponent = true
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            let s = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            guard index > s else { throw fail("a number needs digits in its exponent") }
        }
        if !hasExponent, significant <= 15, fractionDigits <= 22 {
            let magnitude = Double(mantissa) / Self.exactPowersOfTen[fractionDigits]
            return negative ? -magnitude : magnitude
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let value = Double(text) else { throw fail("'\(text.prefix(40))' is not a number") }
        return value
    }

    mutating func parseString() throws(ServingError) -> String {
        index += 1
        var chunkStart = index
        var out = ""
        func flush(_ end: Int) {
            if end > chunkStart { out += String(decoding: bytes[chunkStart..<end], as: UTF8.self) }
        }
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                flush(index)
                index += 1
                return out
            }
            if b < 0x20 { throw fail("a control character in a string") }
            if b == UInt8(ascii: "\\") {
                flush(index)
                index += 1
                guard index < bytes.count else { break }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""): out += "\""
                case UInt8(ascii: "\\"): out += "\\"
                case UInt8(ascii: "/"): out += "/"
                case UInt8(ascii: "b"): out += "\u{08}"
                case UInt8(ascii: "f"): out += "\u{0C}"
                case UInt8(ascii: "n"): out += "\n"
                case UInt8(ascii: "r"): out += "\r"
                case UInt8(ascii: "t"): out += "\t"
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code), bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    {
                        index += 2
                        let low = try hex4()
                        code = 0x10000 + ((code - 0xD800) << 10) + (low & 0x3FF)
                    }
                    out.unicodeScalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default: throw fail("an unknown escape in a string")
                }
                chunkStart = index
                continue
            }
            index += 1
        }
        throw fail("the body ends inside a string")
    }

    mutating func hex4() throws(ServingError) -> UInt32 {
        guard bytes.count - index >= 4,
            let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
        else { throw fail("a \\u escape needs four hex digits") }
        index += 4
        return value
    }
}

extension JSONValue {
    /// The value as JSON text (compact; numbers as given by `numberText`).
    var text: String {
        var out = ""
        write(into: &out)
        return out
    }

    func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d): out += JSONValue.numberText(d)
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (k, v)) in members.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(k, into: &out)
                out += ":"
                v.write(into: &out)
            }
            out += "}"
        }
    }

    /// A number as JSON: integers without a fraction, others in Swift's shortest round-trip form (locale-free).
    static func numberText(_ d: Double) -> String {
        if d.isFinite, d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return d.isFinite ? "\(d)" : "null"
    }

    /// A string as JSON, escaping quotes, backslashes and control characters.
    static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
