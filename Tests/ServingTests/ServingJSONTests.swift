import Engine
import HTTPTypes
import Serving
import Testing

@testable import Serving

@Suite("the service's JSON reader")
struct ServingJSONTests {
    func parse(_ text: String) throws(ServingError) -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    @Test("objects keep key order; strings, escapes, numbers and literals read as RFC 8259 says")
    func reads() throws {
        let v = try parse(
            #"﻿ {"b": [1, -2.5e2, 0.25], "a": "x\"\\\/\n\u00e9\ud83d\ude00", "t": true, "f": false, "n": null} "#)
        guard case .object(let members) = v else { Issue.record("not an object"); return }
        #expect(members.map(\.0) == ["b", "a", "t", "f", "n"])
        #expect(v["b"] == .array([.number(1), .number(-250), .number(0.25)]))
        #expect(v["a"] == .string("x\"\\/\né😀"))
        #expect(v["t"] == .bool(true) && v["f"] == .bool(false) && v["n"] == .null)
        #expect(v.text == #"{"b":[1,-250,0.25],"a":"x\"\\/\né😀","t":true,"f":false,"n":null}"#)
        #expect(try parse("[]") == .array([]) && (try parse("{}")) == .object([]))
    }

    @Test("every number reads to the same bits as Double(String), on the fast path and off it")
    func numbersMatchTheStandardLibrary() throws {
        // Clinger's fast path (<= 15 significant digits, no exponent) and the fallback must agree with
        // Double(String) bit for bit; the forms cover request values, long mantissas, exponents, signs, zeros.
        var rng = SplitMix64(seed: 7)
        var texts = [
            "0", "-0", "0.0", "1", "0.0200", "0.999999999999999", "0.1234567890123456789", "123456789012345",
            "1234567890123456", "9007199254740993", "0.30000000000000004", "1e-300", "2.5E+10", "-1.5e2",
            "0." + String(repeating: "0", count: 21) + "1", "0." + String(repeating: "0", count: 22) + "1",
        ]
        for _ in 0..<4000 {
            let intDigits = Int.random(in: 0...3, using: &rng)
            let fracDigits = Int.random(in: 1...20, using: &rng)
            let int = intDigits == 0 ? "0" : String(Int.random(in: 1...999, using: &rng))
            let frac = String((0..<fracDigits).map { _ in Character(String(Int.random(in: 0...9, using: &rng))) })
            texts.append((Bool.random(using: &rng) ? "-" : "") + int + "." + frac)
        }
        for text in texts {
            guard case .array(let items) = try parse("[\(text)]"), case .number(let d)? = items.first else {
                Issue.record("\(text) did not read as a number")
                continue
            }
            let expected = try #require(Double(text))
            #expect(d.bitPattern == expected.bitPattern, "\(text): \(d) vs \(expected)")
        }
    }

    @Test(
        "syntax errors name the byte; duplicates name the key path; depth is bounded",
        arguments: [
            ("{\"a\":1,\"a\":2}", "duplicate JSON key 'a'"),
            ("{\"a\":{\"b\":[{\"c\":1,\"c\":1}]}}", "duplicate JSON key 'a.b[0].c'"),
            ("[1,]", "invalid JSON at byte 3"), ("01", "leading zero"), ("1.", "digits after '.'"), ("1e", "exponent"),
            ("\"abc", "ends inside a string"), ("[1 2]", "expected ',' or ']'"), ("{\"a\" 1}", "expected ':'"),
            ("{1:2}", "expected a key"), ("[Infinity]", "NaN and Infinity"), ("[nul]", "unexpected word"),
            ("\"\\q\"", "unknown escape"), ("\"\\u12\"", "four hex digits"), ("\"a\u{01}\"", "control character"),
            ("1 2", "unexpected text after"), ("", "the body is empty"),
            (String(repeating: "[", count: 70), "nested deeper"),
            ("{\"a\":1", "ends inside an object"), ("[1", "ends inside an array"),
        ])
    func refuses(_ text: String, _ message: String) {
        #expect {
            try parse(text)
        } throws: { error in
            (error as? ServingError)?.message.contains(message) == true && (error as? ServingError)?.code == .badRequest
        }
    }

    @Test("errors compare by code and print code and message")
    func errors() {
        #expect(ServingError(.badRequest, "a") == ServingError(.badRequest, "b"))
        #expect(ServingError(.badRequest, "a") != ServingError(.notFound, "a"))
        #expect(ServingError(.tooLarge, "big").description == "tooLarge: big")
        #expect(ServingError.Code.unavailable.status == .serviceUnavailable)
    }

    @Test("row-key parts keep safe characters and percent-encode the rest; rows are padded")
    func rowKeys() {
        #expect(ModelService.rowKeyPart("req-1.a_b:c") == "req-1.a_b:c")
        #expect(ModelService.rowKeyPart("a/b c") == "a%2Fb%20c")
        #expect(ModelService.rowKeyPart("é") == "%C3%A9")
        #expect(ModelService.padded(12) == "000012" && ModelService.padded(1_234_567) == "1234567")
    }
}
