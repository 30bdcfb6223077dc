public import Settings
import Foundation

/// The values a sweep may give each swept `[mlp]` key.
///
/// A parameter is written as config.ini would hold its key, in one of three forms:
/// - a list or choice: `16,32,64`, `full,32` (one item is a fixed value);
/// - a real range `LOW..HIGH` with an optional scale, `0.001..0.03:log` or `0..0.1:linear` (default linear);
/// - an integer range, when both ends are whole numbers: `8..128`, `8..128:log`.
///
/// `full` in a `batch_size` list means `0` (full batch). Every item and both ends of a range are checked by the
/// key's own Settings rule (``ConfigurationResolver/applying(_:to:)``), so a value config.ini refuses is refused
/// here too, naming its flag or `[sweep]` line.
public struct SearchSpace: Sendable, Equatable {
    /// How a range is sampled.
    public enum Scale: String, Sendable, Equatable, Codable {
        /// Uniform in the value.
        case linear
        /// Uniform in the logarithm of the value (ends must be above 0).
        case log
    }

    /// The values of one parameter.
    public enum Domain: Sendable, Equatable {
        /// A list or choice of values as text, in the order given.
        case values([String])
        /// Real numbers in `[low, high]`.
        case real(low: Double, high: Double, scale: Scale)
        /// Whole numbers in `low...high`.
        case integer(low: Int, high: Int, scale: Scale)
    }

    /// One swept key.
    public struct Dimension: Sendable, Equatable {
        /// The configuration key id, `mlp.<key>`, for example `mlp.lr`.
        public let id: String
        /// Its values.
        public let domain: Domain
        /// Where it was given, for messages (`flag --lr`, `config.ini:31: [sweep] lr`).
        public let place: String

        /// Creates a dimension (unchecked; ``SearchSpace/init(_:base:)`` checks it).
        /// - Parameters:
        ///   - id: The key id (`mlp.lr`).
        ///   - domain: The values.
        ///   - place: Where it was given.
        public init(id: String, domain: Domain, place: String) {
            self.id = id
            self.domain = domain
            self.place = place
        }

        /// The domain as it was written (`0.001..0.03:log`, `16,32,64`), for records and `--help`.
        public var text: String {
            switch domain {
            case .values(let values): return values.joined(separator: ",")
            case .real(let low, let high, let scale): return "\(low)..\(high):\(scale.rawValue)"
            case .integer(let low, let high, let scale): return "\(low)..\(high):\(scale.rawValue)"
            }
        }
    }

    /// The swept keys, in the order given (the order of records and of TPE's random streams).
    public let dimensions: [Dimension]

    /// Checks a space against the configuration it overlays.
    /// - Parameters:
    ///   - dimensions: The swept keys.
    ///   - base: The resolved configuration each trial starts from.
    /// - Throws: ``SweepError`` `badSpace` (no dimension, or a key twice, or a key outside `[mlp]`), `invalidValue`
    ///   (a value the key's Settings rule refuses, with that rule's reason).
    public init(_ dimensions: [Dimension], base: SonarLabConfiguration) throws(SweepError) {
        guard !dimensions.isEmpty else {
            throw SweepError(
                .badSpace, place: "search space",
                reason: "nothing to sweep: give at least one [mlp] key a list or range (e.g. --lr 0.001..0.03:log)")
        }
        var seen = Set<String>()
        for dimension in dimensions {
            guard dimension.id.hasPrefix("mlp."), ConfigurationResolver.key(id: dimension.id) != nil else {
                let known = ConfigurationResolver.keys.filter { $0.section == "mlp" }.map(\.key)
                throw SweepError(
                    .badSpace, place: dimension.place,
                    reason:
                        "'\(dimension.id.hasPrefix("mlp.") ? String(dimension.id.dropFirst(4)) : dimension.id)' is not an "
                        + "[mlp] key; sweepable: \(known.joined(separator: ", "))")
            }
            guard seen.insert(dimension.id).inserted else {
                throw SweepError(.badSpace, place: dimension.place, reason: "\(dimension.id) is given twice")
            }
            let texts: [String]
            switch dimension.domain {
            case .values(let values): texts = values
            case .real(let low, let high, _): texts = [String(low), String(high)]
            case .integer(let low, let high, _): texts = [String(low), String(high)]
            }
            for text in texts {
                do {
                    _ = try ConfigurationResolver.applying(
                        [(id: dimension.id, value: text, place: dimension.place)], to: base)
                } catch {
                    throw SweepError(.invalidValue, place: dimension.place, reason: error.reason)
                }
            }
        }
        self.dimensions = dimensions
    }

    /// Reads one parameter's text.
    /// - Parameters:
    ///   - id: The key id (`mlp.lr`).
    ///   - text: The list, choice or range.
    ///   - place: Where it was given, for messages.
    /// - Returns: The dimension (not yet checked against the key's rule).
    /// - Throws: ``SweepError`` `syntax` (not a list or range, an empty item, an unknown scale) or `emptyRange`
    ///   (low not below high, a log range not above 0).
    public static func parse(id: String, text: String, place: String) throws(SweepError) -> Dimension {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else {
            throw SweepError(
                .syntax, place: place, reason: "empty; give a list (16,32,64) or a range (0.001..0.03:log)")
        }
        guard let dots = trimmed.range(of: "..") else {
            let items = trimmed.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard !items.contains(where: \.isEmpty) else {
                throw SweepError(.syntax, place: place, reason: "'\(trimmed)' has an empty item in its list")
            }
            let values = items.map { id == "mlp.batch_size" && $0 == "full" ? "0" : $0 }
            return Dimension(id: id, domain: .values(values), place: place)
        }
        var high = String(trimmed[dots.upperBound...])
        var scale = Scale.linear
        if let colon = high.firstIndex(of: ":") {
            let name = String(high[high.index(after: colon)...])
            guard let parsed = Scale(rawValue: name) else {
                throw SweepError(.syntax, place: place, reason: "unknown scale '\(name)' (use :log or :linear)")
            }
            scale = parsed
            high = String(high[..<colon])
        }
        let lowText = String(trimmed[..<dots.lowerBound]).trimmingCharacters(in: .whitespaces)
        let highText = high.trimmingCharacters(in: .whitespaces)
        let form = "a range is LOW..HIGH[:log|:linear], e.g. 0.001..0.03:log or 8..128"
        if let low = Int(lowText), let high = Int(highText) {
            guard low < high else {
                throw SweepError(.emptyRange, place: place, reason: "\(trimmed): \(low) is not below \(high)")
            }
            guard scale == .linear || low > 0 else {
                throw SweepError(.emptyRange, place: place, reason: "\(trimmed): a log range must start above 0")
            }
            return Dimension(id: id, domain: .integer(low: low, high: high, scale: scale), place: place)
        }
        guard let low = Double(lowText), let high = Double(highText), low.isFinite, high.isFinite else {
            throw SweepError(.syntax, place: place, reason: "'\(trimmed)' is not a range of numbers; \(form)")
        }
        guard low < high else {
            throw SweepError(.emptyRange, place: place, reason: "\(trimmed): \(lowText) is not below \(highText)")
        }
        guard scale == .linear || low > 0 else {
            throw SweepError(.emptyRange, place: place, reason: "\(trimmed): a log range must start above 0")
        }
        return Dimension(id: id, domain: .real(low: low, high: high, scale: scale), place: place)
    }

    /// Reads the `[sweep]` section of an INI document: each key is an `[mlp]` key, each value its list or range.
    ///
    /// Example: `[sweep]` / `hidden_size = 16,32,64` / `lr = 0.001..0.03:log`.
    /// - Parameter document: config.ini or a `--space` file.
    /// - Returns: The dimensions in file order (none when the section is absent).
    /// - Throws: ``SweepError`` `syntax` or `emptyRange` naming `file:line: [sweep] key`.
    public static func dimensions(inSweepSectionOf document: INIDocument) throws(SweepError) -> [Dimension] {
        var result = [Dimension]()
        for entry in document.entries where entry.section == "sweep" {
            let place = "\(document.file):\(entry.line): [sweep] \(entry.key)"
            result.append(try parse(id: "mlp.\(entry.key)", text: entry.value, place: place))
        }
        return result
    }
}
