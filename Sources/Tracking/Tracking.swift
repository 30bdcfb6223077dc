// Tracking: the experiment domain and where experiments are recorded.
//
// What it does: defines `Experiment` (one train / cv / test run: parameters, data fingerprint,
// per-epoch metrics, final metrics, status, artefact path) and the `ExperimentStore` protocol that every
// store implements — the embedded `LocalStore` (SQLite through GRDB, the default) and the HBase-backed
// store. `RunFolder` writes the seed-style `experiments/exp_<name>_<timestamp>/` folder (run log,
// `exp_config.yaml`, model, per-epoch CSV), and `FileLogHandler` sends swift-log records to the run log.
//
// May import: Engine (types), HBase, GRDB, Yams, swift-log. Start at `ExperimentStore`.
