/// The two Sonar classes, in the order of the network's outputs (logit 0 = rock, logit 1 = mine).
///
/// Source: UCI "Connectionist Bench (Sonar, Mines vs. Rocks)": `R` is a rock, `M` a metal cylinder.
public enum SonarClass: Int, Sendable, CaseIterable, Codable, Comparable {
    /// `R`: the sonar return of a rock.
    case rock = 0
    /// `M`: the sonar return of a metal cylinder (a mine).
    case mine = 1

    /// The label as written in the data file: `R` or `M`.
    public var label: String { self == .rock ? "R" : "M" }

    /// Parses `R` or `M` (exactly, case-sensitive as in the UCI file); `nil` otherwise.
    public init?(label: String) {
        switch label {
        case "R": self = .rock
        case "M": self = .mine
        default: return nil
        }
    }

    public static func < (lhs: SonarClass, rhs: SonarClass) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Labelled samples: a feature matrix (`count × 60` for Sonar) and one class per row.
public struct Dataset: Sendable, Equatable {
    /// Features, one row per sample.
    public var features: Matrix
    /// Class of each row; `labels.count == features.rows`.
    public var labels: [SonarClass]

    /// Creates a dataset. - Precondition: one label per feature row.
    public init(features: Matrix, labels: [SonarClass]) {
        precondition(features.rows == labels.count, "Dataset: \(features.rows) rows but \(labels.count) labels")
        self.features = features
        self.labels = labels
    }

    /// Number of samples.
    public var count: Int { labels.count }
    /// Number of features per sample.
    public var featureCount: Int { features.columns }

    /// The samples at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Dataset {
        Dataset(features: features.selecting(rows: indices), labels: indices.map { labels[$0] })
    }

    /// How many samples each class has.
    public var classCounts: [SonarClass: Int] {
        labels.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }
}
