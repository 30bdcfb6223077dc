/// Which epoch's weights a training run keeps.
public enum ModelSelection: String, Sendable, Codable, CaseIterable {
    /// The epoch with the lowest validation loss (the default; ties keep the earlier epoch).
    case validationLoss = "val_loss"
    /// The epoch with the highest validation accuracy (ties keep the earlier epoch).
    case validationAccuracy = "val_accuracy"
    /// The epoch with the highest validation macro-F1 (ties keep the earlier epoch).
    case validationF1 = "val_f1"
    /// The last epoch trained.
    case lastEpoch = "last"
}

/// Hyper-parameters of one training run. Defaults are SonarLab's (the seed's) values.
public struct TrainingConfiguration: Sendable, Equatable, Codable {
    /// Hidden units `H` of the 60-H-2 network. Default 40.
    public var hiddenSize: Int = 40
    /// Adam step size α. Default 0.01.
    public var learningRate: Double = 0.01
    /// Passes over the training split. Default 80.
    public var epochs: Int = 80
    /// Rows per mini-batch; `nil` means full batch (one update per epoch, the default).
    public var batchSize: Int? = nil
    /// L2 weight decay λ added to the weights' gradients (`g + λ·w`, coupled as in
    /// `torch.optim.Adam(weight_decay=λ)`); biases are not decayed. Default 0.
    public var weightDecay: Double = 0
    /// Stop after this many epochs without a better validation loss; `nil` never stops early (default).
    public var earlyStoppingPatience: Int? = nil
    /// Seed of weight initialisation and mini-batch order. Default 42.
    public var seed: UInt64 = 42
    /// Adam β1 (first-moment decay). Default 0.9 (Kingma & Ba 2015).
    public var beta1: Double = 0.9
    /// Adam β2 (second-moment decay). Default 0.999.
    public var beta2: Double = 0.999
    /// Adam ε. Default 1e-8.
    public var epsilon: Double = 1e-8
    /// Which epoch's weights are kept. Default ``ModelSelection/validationLoss``.
    public var selection: ModelSelection = .validationLoss

    /// Creates the default configuration.
    public init() {}
}
