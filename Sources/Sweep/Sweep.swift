// Sweep: hyper-parameter search over SonarLab's `[mlp]` keys with paired cross-validation.
//
// A trial's parameters are an overlay of `[mlp]` key → text values on the resolved configuration, checked by
// Settings exactly as config.ini's values are (``SearchSpace``, ``TrialEvaluator``), so every `[mlp]` key is
// sweepable. Strategies: grid, random and TPE (Bergstra, Bardenet, Bengio, Kégl 2011; ``TPESampler``).
// Every trial is scored on the same repeated stratified folds (``TrialEvaluator``), and trials are proposed in
// fixed batches (``SweepPlan/batchSize``) so a sweep's results do not depend on `--jobs` (``SweepRunner``).
//
// May import: Engine, Settings, Foundation. Start at `SweepRunner`.
