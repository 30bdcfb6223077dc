import Foundation

/// SonarLab's typed configuration. Every field has a built-in default (the seed's values).
///
/// Keys in config.ini are `[section] key`; the environment variable of a key is
/// `SONARLAB_<SECTION>_<KEY>` in upper case (e.g. `SONARLAB_MLP_EPOCHS`); flags are named by the CLI.
/// ``ConfigurationResolver/keys`` lists every key with its default and meaning.
public struct SonarLabConfiguration: Sendable, Equatable {
    /// `[data]`: where the input lives.
    public struct DataSettings: Sendable, Equatable {
        /// `path`: the labelled Sonar CSV. Default `data/sonar.all-data`.
        public var path = "data/sonar.all-data"
        /// `prepared_dir`: where `sonarlab prepare` writes the split. Default `prepared`.
        public var preparedDirectory = "prepared"
        /// `header`: whether the data file's first line is a header.
        ///
        /// Default `auto` (a first line none of whose fields is a number is a header, and the run log says so), `true`
        /// (always skip the first line) or `false` (every line is data).
        public var header = "auto"
    }

    /// `[split]`: the train/validation split.
    public struct SplitSettings: Sendable, Equatable {
        /// `test_size`: validation fraction in (0, 1). Default 0.25.
        public var testSize = 0.25
        /// `seed`: shuffle seed. Default 42.
        public var seed: UInt64 = 42
    }

    /// `[mlp]`: the network and its training.
    public struct MLPSettings: Sendable, Equatable {
        /// `hidden_size`: hidden units, 1…4096. Default 40.
        public var hiddenSize = 40
        /// `lr`: Adam learning rate, > 0 and ≤ 10. Default 0.01.
        public var learningRate = 0.01
        /// `epochs`: 1…100000. Default 80.
        public var epochs = 80
        /// `batch_size`: rows per update; 0 = full batch. Default 0.
        public var batchSize = 0
        /// `weight_decay`: coefficient ≥ 0 of the weights' decay (coupled or decoupled, see `optimizer`). Default 0.
        public var weightDecay = 0.0
        /// `early_stopping`: patience in epochs; 0 = off. Default 0.
        public var earlyStoppingPatience = 0
        /// `seed`: initialisation and batch-order seed. Default 42.
        public var seed: UInt64 = 42
        /// `select`: which epoch to keep — `val_loss`, `val_accuracy`, `val_f1` or `last`. Default `val_loss`.
        public var selection = "val_loss"
        /// `optimizer`: `adam` (weight decay coupled as L2 on the gradients) or `adamw` (decoupled weight decay,
        /// Loshchilov & Hutter 2019). Default `adam`.
        public var optimizer = "adam"
        /// `dropout`: probability of dropping a hidden unit while training, 0 ≤ p < 1; 0 = off. Default 0.
        public var dropout = 0.0
        /// `input_noise`: standard deviation of Gaussian noise on the standardised inputs while training, 0…10;
        /// 0 = off. Default 0.
        public var inputNoise = 0.0
        /// `ensemble`: members K whose probabilities are averaged, 1…100; 1 = a single network. Default 1.
        public var ensemble = 1
    }

    /// `[cv]`: cross-validation.
    public struct CrossValidationSettings: Sendable, Equatable {
        /// `folds`: k, 2…50. Default 10.
        public var folds = 10
        /// `repeats`: 1…100. Default 5.
        public var repeats = 5
    }

    /// Where experiments are recorded.
    public enum Backend: String, Sendable, Equatable, CaseIterable {
        /// The embedded SQLite store (default).
        case local
        /// Apache HBase over its REST gateway.
        case hbase
    }

    /// `[tracking]`: the experiment store.
    public struct TrackingSettings: Sendable, Equatable {
        /// `backend`: `local` or `hbase`. Default `local`.
        public var backend = Backend.local
        /// `dir`: the embedded store's folder (git-ignored). Default `.sonarlab`.
        public var directory = ".sonarlab"
        /// `experiments_dir`: the seed-style run folders. Default `experiments`.
        public var experimentsDirectory = "experiments"
        /// `stale_after`: seconds without a heartbeat after which a `running` run shows as `stale`.
        ///
        /// Default 120, 1…604800. A run whose pid is dead on this host shows as `stale` at once.
        public var staleAfterSeconds = 120.0
    }

    /// `[tui]`: the dashboard.
    public struct TUISettings: Sendable, Equatable {
        /// `theme`: a file name in `themes/` without `.ini`. Default `default`.
        public var theme = "default"
        /// `refresh_hz`: most redraws per second, 1…60. Default 10.
        public var refreshRate = 10
    }

    /// `[hbase]`: names and limits of the HBase store (the address and credentials come only from the
    /// environment; see ``HBaseConnectionSettings``).
    public struct HBaseSettings: Sendable, Equatable {
        /// `namespace`. Default `sonarlab`.
        public var namespace = "sonarlab"
        /// `experiments_table`. Default `experiments`.
        public var experimentsTable = "experiments"
        /// `datasets_table`. Default `datasets`.
        public var datasetsTable = "datasets"
        /// `predictions_table`. Default `predictions`.
        public var predictionsTable = "predictions"
        /// `timeout_seconds`: per request, 1…600. Default 10.
        public var timeoutSeconds = 10.0
        /// `epoch_batch`: per-epoch metrics are sent at most once per this many epochs (or per second). Default 10.
        public var epochBatch = 10
    }

    /// `[serve]`: the model service (`sonarlab serve`).
    public struct ServeSettings: Sendable, Equatable {
        /// `host`: the address the service listens on. Default the IPv4 loopback address (`INADDR_LOOPBACK`;
        /// config.ini names it); listening on every interface is a choice made in config.ini or `--host`, never a
        /// default.
        public var host = ServeSettings.loopback
        /// `port`: the TCP port it listens on, 0 (any free port) … 65535. Default 8089 (config.ini).
        public var port = 8089

        /// The IPv4 loopback address in dotted form, from the system's `INADDR_LOOPBACK`.
        public static let loopback: String = {
            var address = in_addr(s_addr: in_addr_t(INADDR_LOOPBACK).bigEndian)
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            return inet_ntop(AF_INET, &address, &text, socklen_t(text.count)).map { String(cString: $0) } ?? "localhost"
        }()
        /// `model_name`: the model's name in the Open Inference Protocol routes. Default `sonar`.
        public var modelName = "sonar"
        /// `record`: where each prediction is recorded as it is answered: `hbase` (the durable outbox, then
        /// HBase), `local` (the embedded SQLite store) or `off`. Default `hbase`.
        public var record = "hbase"
        /// `max_body_bytes`: the largest request body, 1 KiB … 1 GiB; larger answers 413. Default 1 MiB.
        public var maxBodyBytes = 1 << 20
        /// `max_rows`: the most rows in one request, 1 … 1000000; more answers 413. Default 1000.
        public var maxRows = 1000
        /// `max_concurrency`: requests handled at once, 1 … 10000; one more answers 503 with `Retry-After`.
        /// Default 64.
        public var maxConcurrency = 64
        /// `request_timeout`: seconds one request may take, (0, 600]; past it the answer is 503. Default 10.
        public var requestTimeoutSeconds = 10.0
    }

    public var data = DataSettings()
    public var split = SplitSettings()
    public var mlp = MLPSettings()
    public var crossValidation = CrossValidationSettings()
    public var tracking = TrackingSettings()
    public var tui = TUISettings()
    public var hbase = HBaseSettings()
    public var serve = ServeSettings()
    /// `[serve]` access: callers' authentication and allow-lists (ServeAccessSettings.swift).
    public var serveAccess = ServeAccessSettings()

    /// The built-in defaults.
    public init() {}
}
