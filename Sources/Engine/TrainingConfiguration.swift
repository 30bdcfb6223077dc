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
    /// Weight decay λ of the weights (never the biases); how it acts depends on ``optimizer``. Default 0.
    ///
    /// - ``Optimizer/adam``: L2 added to the weights' gradients (`g + λ·w`, coupled as in
    ///   `torch.optim.Adam(weight_decay=λ)`).
    /// - ``Optimizer/adamW``: decoupled, `w ← w − α·λ·w` before the Adam step (as `torch.optim.AdamW`).
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
    /// How ``weightDecay`` enters the update. Default ``Optimizer/adam`` (today's coupled L2).
    public var optimizer: Optimizer = .adam
    /// Inverted dropout on the hidden layer while training: each hidden activation is zeroed with probability
    /// `p` and the kept ones are scaled by `1/(1 − p)`, so prediction uses the network unchanged
    /// (Srivastava et al. 2014, "Dropout: A Simple Way to Prevent Neural Networks from Overfitting", JMLR 15).
    /// `0 ≤ p < 1`; default 0 (off).
    public var dropout: Double = 0
    /// Standard deviation σ of Gaussian noise added to every standardised input while training (fresh noise
    /// for every sample of every batch; none at validation or prediction). `σ ≥ 0`; default 0 (off).
    public var inputNoise: Double = 0
    /// Members `K ≥ 1` of an ensemble: `K` networks trained with seed-varied initialisation, batch order and
    /// noise, whose class probabilities are averaged. Member 0 uses ``seed``; member `k ≥ 1` uses
    /// ``Trainer/memberSeed(_:member:)``. Default 1 (a single network, as before ensembles existed).
    public var ensemble: Int = 1

    /// Creates the default configuration.
    public init() {}
}

/// The update rule of ``TrainingConfiguration``.
public enum Optimizer: String, Sendable, Codable, CaseIterable {
    /// Adam (Kingma & Ba 2015) with weight decay as coupled L2 on the weights' gradients.
    case adam
    /// AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay Regularization",
    /// ICLR 2019, Algorithm 2 with schedule multiplier η = 1 and the decay scaled by the step size α, as
    /// `torch.optim.AdamW`).
    case adamW = "adamw"
}

extension TrainingConfiguration {
    enum CodingKeys: String, CodingKey {
        case hiddenSize, learningRate, epochs, batchSize, weightDecay, earlyStoppingPatience, seed, beta1, beta2
        case epsilon, selection, optimizer, dropout, inputNoise, ensemble
    }

    /// Decodes a configuration; the regularisation and ensemble keys may be absent (files written before they
    /// existed) and then take their defaults.
    /// - Throws: `DecodingError` for a missing older key or a value of the wrong type.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        epochs = try c.decode(Int.self, forKey: .epochs)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize)
        weightDecay = try c.decode(Double.self, forKey: .weightDecay)
        earlyStoppingPatience = try c.decodeIfPresent(Int.self, forKey: .earlyStoppingPatience)
        seed = try c.decode(UInt64.self, forKey: .seed)
        beta1 = try c.decode(Double.self, forKey: .beta1)
        beta2 = try c.decode(Double.self, forKey: .beta2)
        epsilon = try c.decode(Double.self, forKey: .epsilon)
        selection = try c.decode(ModelSelection.self, forKey: .selection)
        optimizer = try c.decodeIfPresent(Optimizer.self, forKey: .optimizer) ?? .adam
        dropout = try c.decodeIfPresent(Double.self, forKey: .dropout) ?? 0
        inputNoise = try c.decodeIfPresent(Double.self, forKey: .inputNoise) ?? 0
        ensemble = try c.decodeIfPresent(Int.self, forKey: .ensemble) ?? 1
    }

    /// Encodes the configuration. The regularisation and ensemble keys are written only when they differ from
    /// their defaults, so a model trained without them is byte-identical to one saved before they existed.
    /// - Throws: the encoder's error.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(epochs, forKey: .epochs)
        try c.encodeIfPresent(batchSize, forKey: .batchSize)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encodeIfPresent(earlyStoppingPatience, forKey: .earlyStoppingPatience)
        try c.encode(seed, forKey: .seed)
        try c.encode(beta1, forKey: .beta1)
        try c.encode(beta2, forKey: .beta2)
        try c.encode(epsilon, forKey: .epsilon)
        try c.encode(selection, forKey: .selection)
        if optimizer != .adam { try c.encode(optimizer, forKey: .optimizer) }
        if dropout != 0 { try c.encode(dropout, forKey: .dropout) }
        if inputNoise != 0 { try c.encode(inputNoise, forKey: .inputNoise) }
        if ensemble != 1 { try c.encode(ensemble, forKey: .ensemble) }
    }
}
