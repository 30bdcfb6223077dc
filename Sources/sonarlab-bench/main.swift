// sonarlab-bench: times the Engine's training loop in-process (one thread), for `make bench`.
//
// Usage: sonarlab-bench [--data PATH] [--repeats N] [--cv-folds K --cv-repeats R] [--json]
// Prints the median wall time of N runs of 80 full-batch epochs with validation metrics every epoch,
// and the time of a repeated stratified k-fold cross-validation.
import Engine
import Foundation

var dataPath = "data/sonar.all-data"
var repeats = 20
var cvFolds = 10
var cvRepeats = 5
var json = false
var args = CommandLine.arguments.dropFirst().makeIterator()
while let arg = args.next() {
    switch arg {
    case "--data": dataPath = args.next() ?? dataPath
    case "--repeats": repeats = Int(args.next() ?? "") ?? repeats
    case "--cv-folds": cvFolds = Int(args.next() ?? "") ?? cvFolds
    case "--cv-repeats": cvRepeats = Int(args.next() ?? "") ?? cvRepeats
    case "--json": json = true
    default:
        FileHandle.standardError.write(Data("sonarlab-bench: unknown argument \(arg)\n".utf8))
        exit(2)
    }
}

let loaded: SonarData.LoadedFile
do { loaded = try SonarData.load(path: dataPath) } catch {
    FileHandle.standardError.write(Data("sonarlab-bench: \(error)\n".utf8))
    exit(2)
}
let split = StratifiedSplit.split(labels: loaded.dataset.labels, testSize: 0.25, seed: 42)
let train = loaded.dataset.subset(split.train)
let validation = loaded.dataset.subset(split.validation)
let config = TrainingConfiguration()

var times = [Double]()
var lastAccuracy = 0.0
for _ in 0..<(repeats + 2) {
    let start = ContinuousClock.now
    let result = Trainer(configuration: config).train(trainingSet: train, validationSet: validation)
    let d = ContinuousClock.now - start
    times.append(Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
    lastAccuracy = result.bestValidation.accuracy
}
times = Array(times.dropFirst(2)).sorted()  // two warm-up runs
let median = times[times.count / 2]
let cv = CrossValidation.run(
    dataset: loaded.dataset, folds: cvFolds, repeats: cvRepeats, seed: 42, configuration: config)
if json {
    print(
        "{\"loop_ms_median\": \(median * 1000), \"loop_ms_min\": \(times[0] * 1000), \"runs\": \(times.count), "
            + "\"validation_accuracy\": \(lastAccuracy), \"cv_seconds\": \(cv.elapsedSeconds), "
            + "\"cv_accuracy_mean\": \(cv.accuracy.mean), \"cv_f1_mean\": \(cv.f1.mean), \"cv_fits\": \(cv.fits.count)}"
    )
} else {
    print(
        PlainNumber.format(
            "engine loop: median %.2f ms, min %.2f ms over %d runs of %d epochs (val acc %.4f)",
            median * 1000, times[0] * 1000, times.count, config.epochs, lastAccuracy))
    print(
        PlainNumber.format(
            "cv %dx%d: %.3f s, accuracy %.4f ± %.4f, macro-F1 %.4f ± %.4f",
            cvFolds, cvRepeats, cv.elapsedSeconds, cv.accuracy.mean, cv.accuracy.sd, cv.f1.mean, cv.f1.sd))
}
