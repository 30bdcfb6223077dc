/// A binary confusion matrix; `counts[actual][predicted]`, indices are ``SonarClass`` raw values.
public struct ConfusionMatrix: Sendable, Equatable, Codable {
    /// `counts[a][p]`: how many rows of actual class `a` were predicted as `p`. Always 2×2.
    public var counts: [[Int]]

    /// An all-zero matrix.
    public init() { counts = [[0, 0], [0, 0]] }

    /// Creates a matrix from counts. - Precondition: 2×2.
    public init(counts: [[Int]]) {
        precondition(counts.count == 2 && counts.allSatisfy { $0.count == 2 })
        self.counts = counts
    }

    /// Counts predictions against truth.
    public init(actual: [SonarClass], predicted: [SonarClass]) {
        precondition(actual.count == predicted.count)
        self.init()
        for (a, p) in zip(actual, predicted) { counts[a.rawValue][p.rawValue] += 1 }
    }

    /// Number of rows counted.
    public var total: Int { counts.joined().reduce(0, +) }

    /// Fraction of rows on the diagonal; 0 for an empty matrix.
    public var accuracy: Double {
        total == 0 ? 0 : Double(counts[0][0] + counts[1][1]) / Double(total)
    }

    /// F1 of one class: `2·TP / (2·TP + FP + FN)`; 0 when the class is neither present nor predicted
    /// (scikit-learn's `zero_division=0`).
    public func f1(of cls: SonarClass) -> Double {
        let i = cls.rawValue, o = 1 - i
        let tp = counts[i][i], fp = counts[o][i], fn = counts[i][o]
        let denominator = 2 * tp + fp + fn
        return denominator == 0 ? 0 : Double(2 * tp) / Double(denominator)
    }

    /// Unweighted mean of the per-class F1 scores (macro-F1, scikit-learn `average="macro"`).
    public var macroF1: Double {
        SonarClass.allCases.map { f1(of: $0) }.reduce(0, +) / Double(SonarClass.allCases.count)
    }
}

/// Loss, accuracy and macro-F1 of one split at one epoch.
public struct SplitMetrics: Sendable, Equatable, Codable {
    /// Mean softmax cross-entropy in nats (natural log), without the weight-decay term.
    public var loss: Double
    /// Fraction of rows classified correctly, in `[0, 1]`.
    public var accuracy: Double
    /// Macro-averaged F1 over rock and mine, in `[0, 1]`.
    public var macroF1: Double

    /// Creates metrics from their values.
    public init(loss: Double, accuracy: Double, macroF1: Double) {
        self.loss = loss
        self.accuracy = accuracy
        self.macroF1 = macroF1
    }

    /// Metrics from a mean loss and a confusion matrix.
    public init(loss: Double, confusion: ConfusionMatrix) {
        self.init(loss: loss, accuracy: confusion.accuracy, macroF1: confusion.macroF1)
    }
}

/// Training and validation metrics after one epoch: the event a UI or a store receives.
public struct EpochMetrics: Sendable, Equatable, Codable {
    /// 1-based epoch number.
    public var epoch: Int
    /// Metrics of the training split, from the forward passes of this epoch (before each update).
    public var train: SplitMetrics
    /// Metrics of the validation split after this epoch's updates.
    public var validation: SplitMetrics
    /// Wall-clock seconds since training started, at the end of this epoch.
    public var elapsedSeconds: Double

    /// Creates an epoch record.
    public init(epoch: Int, train: SplitMetrics, validation: SplitMetrics, elapsedSeconds: Double) {
        self.epoch = epoch
        self.train = train
        self.validation = validation
        self.elapsedSeconds = elapsedSeconds
    }
}
