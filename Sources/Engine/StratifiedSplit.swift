/// Stratified, seeded splits: one train/validation split and repeated k-fold partitions.
///
/// Each class is shuffled on its own (Fisher–Yates with ``SplitMix64``) and divided in proportion, so
/// both parts keep the class ratio of the whole. Same labels and seed ⇒ the same indices.
/// The validation size per class is `round(testSize × classCount)`, as scikit-learn's
/// `train_test_split(stratify=…)` does up to tie-breaking.
public enum StratifiedSplit {
    /// Row indices of a train/validation split.
    public struct Indices: Sendable, Equatable, Codable {
        /// Training rows, ascending.
        public let train: [Int]
        /// Validation rows, ascending.
        public let validation: [Int]
    }

    /// Splits row indices into train and validation, class by class.
    /// - Parameters:
    ///   - labels: the class of each row.
    ///   - testSize: the validation fraction, in `(0, 1)`.
    ///   - seed: the shuffle seed.
    /// - Returns: sorted train and validation indices; every row is in exactly one part.
    public static func split(labels: [SonarClass], testSize: Double, seed: UInt64) -> Indices {
        precondition(testSize > 0 && testSize < 1, "testSize must be in (0, 1)")
        var rng = SplitMix64(seed: seed)
        var train = [Int]()
        var validation = [Int]()
        for cls in SonarClass.allCases {
            var members = labels.indices.filter { labels[$0] == cls }
            members.shuffle(using: &rng)
            let take = Int((testSize * Double(members.count)).rounded())
            validation += members.prefix(take)
            train += members.dropFirst(take)
        }
        return Indices(train: train.sorted(), validation: validation.sorted())
    }

    /// Stratified k-fold partitions, repeated with fresh shuffles.
    /// - Parameters:
    ///   - labels: the class of each row.
    ///   - folds: `k`, at least 2 and at most the size of the smallest class.
    ///   - repeats: how many times to reshuffle and partition again.
    ///   - seed: the shuffle seed of repeat 0; repeat `r` uses a derived stream.
    /// - Returns: `folds × repeats` splits; within one repeat every row is validated exactly once.
    public static func kFold(labels: [SonarClass], folds: Int, repeats: Int, seed: UInt64) -> [Indices] {
        precondition(folds >= 2, "folds must be at least 2")
        var result = [Indices]()
        for repeatIndex in 0..<repeats {
            var rng = SplitMix64.derived(seed: seed, stream: UInt64(repeatIndex))
            var foldOf = [Int](repeating: 0, count: labels.count)
            // Deal each class's shuffled rows round-robin over the folds (as scikit-learn's
            // StratifiedKFold balances class counts per fold), continuing the deal across classes
            // so fold sizes differ by at most one.
            var next = 0
            for cls in SonarClass.allCases {
                var members = labels.indices.filter { labels[$0] == cls }
                members.shuffle(using: &rng)
                for row in members {
                    foldOf[row] = next % folds
                    next += 1
                }
            }
            for fold in 0..<folds {
                let validation = labels.indices.filter { foldOf[$0] == fold }
                let train = labels.indices.filter { foldOf[$0] != fold }
                result.append(Indices(train: train, validation: validation))
            }
        }
        return result
    }
}
