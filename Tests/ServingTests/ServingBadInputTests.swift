import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Serving
import Testing

/// The API's bad-input corpus (docs/bad-input.md, "Model service"): each refused with its status and a message
/// naming the field, and none recorded.
@Suite("model service bad-input corpus")
struct ServingBadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var path = "/v2/models/sonar/infer"
        var body: String
        var contentType: String? = "application/json"
        var status: HTTPResponse.Status
        var message: String
        var testDescription: String { name }
    }

    static let row = Array(repeating: "0.5", count: 60).joined(separator: ",")
    static func input(shape: String = "[1,60]", datatype: String = "FP32", data: String = "[[\(row)]]") -> String {
        #"{"inputs":[{"name":"features","shape":\#(shape),"datatype":"\#(datatype)","data":\#(data)}]}"#
    }

    static let cases: [Case] = [
        Case(
            name: "wrong shape", body: input(shape: "[1,59]"), status: .badRequest,
            message: "shape [1, 59] is not [n, 60]"),
        Case(
            name: "three-dimensional shape", body: input(shape: "[1,60,1]"), status: .badRequest,
            message: "is not [n, 60]"),
        Case(
            name: "wrong datatype", body: input(datatype: "INT64"), status: .badRequest,
            message: "datatype 'INT64' is not FP32 or FP64"),
        Case(
            name: "NaN", body: input(data: "[[NaN,\(row)]]"), status: .badRequest,
            message: "NaN and Infinity are not JSON numbers"),
        Case(
            name: "Inf (a number too large for a double)",
            body: input(data: "[[1e999," + Array(repeating: "0.5", count: 59).joined(separator: ",") + "]]"),
            status: .badRequest, message: "row 1, column 1: inf is not a finite number"),
        Case(
            name: "a value outside [0, 1]",
            body: input(
                data: "[[" + Array(repeating: "0.5", count: 11).joined(separator: ",") + ",1.5,"
                    + Array(repeating: "0.5", count: 48).joined(separator: ",") + "]]"),
            status: .badRequest, message: "input 'features': row 1, column 12: 1.5 is outside [0, 1]"),
        Case(
            name: "a string value",
            body: input(data: "[[\"0.5\"," + Array(repeating: "0.5", count: 59).joined(separator: ",") + "]]"),
            status: .badRequest, message: "row 1, column 1: a string is not a number"),
        Case(
            name: "59 columns",
            body: input(data: "[[" + Array(repeating: "0.5", count: 59).joined(separator: ",") + "]]"),
            status: .badRequest, message: "row 1 has 59 values, expected 60"),
        Case(
            name: "61 columns",
            body: input(data: "[[" + Array(repeating: "0.5", count: 61).joined(separator: ",") + "]]"),
            status: .badRequest, message: "row 1 has 61 values, expected 60"),
        Case(
            name: "flat data of the wrong length", body: input(data: "[0.5,0.5]"), status: .badRequest,
            message: "data holds 2 values, shape [1, 60] needs 60"),
        Case(
            name: "rows unlike the shape", body: input(shape: "[2,60]"), status: .badRequest,
            message: "data holds 1 rows, shape says 2"),
        Case(name: "zero rows", body: input(shape: "[0,60]", data: "[]"), status: .badRequest, message: "has no rows"),
        Case(
            name: "too many rows",
            body: input(
                shape: "[6,60]", data: "[" + Array(repeating: "[\(row)]", count: 6).joined(separator: ",") + "]"),
            status: .contentTooLarge, message: "6 rows is over the limit of 5 rows per request"),
        Case(name: "invalid JSON", body: "{\"inputs\": [", status: .badRequest, message: "invalid JSON at byte"),
        Case(name: "an empty body", body: "", status: .badRequest, message: "the body is empty"),
        Case(
            name: "a wrong content type", body: input(), contentType: "text/plain", status: .unsupportedMediaType,
            message: "Content-Type 'text/plain' is not application/json"),
        Case(name: "missing inputs", body: #"{"id":"x"}"#, status: .badRequest, message: "missing \"inputs\""),
        Case(
            name: "an unknown input name", body: input().replacingOccurrences(of: "features", with: "pixels"),
            status: .badRequest, message: "unknown input 'pixels'"),
        Case(name: "two inputs", body: #"{"inputs":[{},{}]}"#, status: .badRequest, message: "holds 2 tensors"),
        Case(
            name: "an unknown output", body: String(input().dropLast()) + #","outputs":[{"name":"logits"}]}"#,
            status: .badRequest, message: "unknown output 'logits'"),
        Case(
            name: "a non-string id", body: #"{"id":7,"inputs":[]}"#, status: .badRequest,
            message: "\"id\" must be a string"),
        Case(
            name: "an unknown model", path: "/v2/models/resnet/infer", body: input(), status: .notFound,
            message: "unknown model 'resnet'"),
        Case(
            name: "an unknown version", path: "/v2/models/sonar/versions/0/infer", body: input(), status: .notFound,
            message: "unknown version '0'"),
        Case(
            name: "duplicate JSON keys", body: #"{"inputs":[{"name":"features","name":"features"}]}"#,
            status: .badRequest, message: "duplicate JSON key 'inputs[0].name'"),
        Case(
            name: "duplicate top-level keys", body: #"{"inputs":[],"inputs":[]}"#, status: .badRequest,
            message: "duplicate JSON key 'inputs'"),
        Case(
            name: "MLflow: no input key", path: "/invocations", body: #"{"rows":[]}"#, status: .badRequest,
            message: "unknown key 'rows'"),
        Case(
            name: "MLflow: two input keys", path: "/invocations", body: #"{"instances":[],"inputs":[]}"#,
            status: .badRequest, message: "give only one of instances, inputs"),
        Case(
            name: "MLflow: a short row", path: "/invocations", body: #"{"instances":[[0.5]]}"#, status: .badRequest,
            message: "instances: row 1 has 1 values, expected 60"),
        Case(
            name: "MLflow: a record missing a column", path: "/invocations",
            body: "{\"dataframe_records\":[{" + (0..<60).map { "\"c\($0)\":0.5" }.joined(separator: ",") + "},{"
                + (1..<61).map { "\"c\($0)\":0.5" }.joined(separator: ",") + "}]}", status: .badRequest,
            message: "record 2 has no column 'c0'"),
        Case(
            name: "MLflow: no content type", path: "/invocations", body: "{}", contentType: nil,
            status: .unsupportedMediaType, message: "is not application/json or text/csv"),
        Case(
            name: "MLflow: CSV with a bad value", path: "/invocations", body: "0.5,x\n", contentType: "text/csv",
            status: .badRequest, message: "text/csv body"),
    ]

    @Test(
        "each bad request is refused with its status and a message naming the field; nothing is recorded",
        arguments: cases)
    func refused(_ c: Case) async throws {
        let spy = SpyRecorder()
        let service = Fixtures.service(recorder: spy, configuration: ServingConfiguration(maxRows: 5))
        try await ServingServer.makeApplication(service: service, host: "127.0.0.1", port: 0).test(.router) { client in
            var headers: HTTPFields = [:]
            if let type = c.contentType { headers[.contentType] = type }
            let r = try await client.post(c.path, c.body, headers: headers)
            #expect(r.status == c.status, "\(r.text)")
            #expect(r.error.contains(c.message), "\(r.error)")
            #expect(r.headers[.contentType] == "application/json")
        }
        #expect(spy.records.isEmpty)
    }

    @Test("a body over max_body_bytes is a 413, by Content-Length and while streaming")
    func bodyTooLarge() async throws {
        let spy = SpyRecorder()
        let service = Fixtures.service(recorder: spy, configuration: ServingConfiguration(maxBodyBytes: 2048))
        let body = Self.input(
            shape: "[20,60]", data: "[" + Array(repeating: "[\(Self.row)]", count: 20).joined(separator: ",") + "]")
        try await ServingServer.makeApplication(service: service, host: "127.0.0.1", port: 0).test(.live) { client in
            let r = try await client.post("/v2/models/sonar/infer", body)
            #expect(r.status == .contentTooLarge && r.error.contains("over the limit of 2048 bytes"), "\(r.text)")
        }
        try await ServingServer.makeApplication(service: service, host: "127.0.0.1", port: 0).test(.router) { client in
            let r = try await client.post("/invocations", body)
            #expect(r.status == .contentTooLarge && r.error.contains("over the limit of 2048 bytes"), "\(r.text)")
        }
        #expect(spy.records.isEmpty)
    }
}
