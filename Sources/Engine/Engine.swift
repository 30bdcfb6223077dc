// Engine: the SonarLab machine-learning core.
//
// What it does: loads and validates the UCI Sonar data (`SonarData`), splits it with a stratified,
// seeded split (`StratifiedSplit`), standardises on the training split only (`Standardizer`),
// trains a one-hidden-layer perceptron 60-H-2 with softmax cross-entropy and Adam (`MLP`, `Trainer`),
// measures loss / accuracy / macro-F1 (`ClassificationMetrics`), runs repeated stratified k-fold
// cross-validation (`CrossValidation`) and reads and writes model artefacts (`ModelArtefact`).
//
// May import: Foundation and swift-crypto (SHA-256 data fingerprints) only.
// Start at `Trainer`.
