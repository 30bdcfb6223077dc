// Tracking: the experiment domain and where experiments are recorded.
//
// What it does: defines `Experiment` (one train / cv / test run: parameters, data fingerprint,
// per-epoch metrics, final metrics, status, artefact path) and the `ExperimentStore` protocol that every
// store implements — the embedded `LocalStore` (SQLite through GRDB, the default) and the HBase-backed
// store. `RunFolder` writes the seed-style `experiments/exp_<name>_<timestamp>/` folder (run log,
// `exp_config.yaml`, model, per-epoch CSV), and `FileLogHandler` sends swift-log records to the run log.
// Delivery: `FunctionalTestRunner` runs functional scenarios as `test` experiments and produces
// `FunctionalTestResults` (the last results file and JUnit XML), `ModelPackage` writes and verifies the
// model distribution zip, and `RunReport` renders the Markdown report with `SVGLineChart` curves.
//
// May import: Engine (types), HBase, GRDB, Yams, swift-log, ZIPFoundation. Start at `ExperimentStore`.
