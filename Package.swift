// swift-tools-version:6.0
// SonarLab: train, track and ship a small Sonar MLP; experiments recorded in Apache HBase.
import PackageDescription

/// Settings every SonarLab target builds with (see ../shared/design/STYLE.md §3.7).
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "SonarLab",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sonarlab", targets: ["sonarlab"]),
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "Tracking", targets: ["Tracking"]),
        .library(name: "Settings", targets: ["Settings"]),
        .library(name: "Kerberos", targets: ["Kerberos"]),
        .library(name: "TUI", targets: ["TUI"]),
        .library(name: "Serving", targets: ["Serving"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Already transitive dependencies of the two above; named so targets may import them.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
        // `sonarlab serve`'s /metrics (Prometheus text through the swift-metrics API).
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // The Engine's matrix kernels in AVX (C), bit-identical to its portable Swift kernels.
        .target(name: "EngineKernels", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),
        .target(
            name: "Engine",
            dependencies: ["EngineKernels", .product(name: "Crypto", package: "swift-crypto")],
            // The SIMD kernels are ~10x slower unoptimised; tests and `swift run` train real models, so the
            // Engine is optimised in debug builds too (coverage still maps; bench uses release).
            swiftSettings: strictSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        .target(name: "Settings", swiftSettings: strictSettings),
        .systemLibrary(name: "CGSSAPI", path: "Sources/CGSSAPI"),
        .target(name: "Kerberos", dependencies: ["CGSSAPI"], swiftSettings: strictSettings),
        // A generic HBase REST ("Stargate") client; knows nothing of experiments.
        .target(
            name: "HBase",
            dependencies: [
                "Kerberos",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The HBase REST test double's logic (test support only, never in the product).
        .target(
            name: "HBaseRESTDouble",
            dependencies: [
                "Kerberos",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "hbase-rest-double",
            dependencies: [
                "HBaseRESTDouble",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // `make bench` / scripts/bench-hbase.sh: writes and scans prediction rows against a gateway (test support).
        .executableTarget(
            name: "hbase-bench",
            dependencies: ["HBase"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Tracking",
            dependencies: [
                "Engine", "HBase",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: strictSettings
        ),
        // Hyper-parameter sweeps over the [mlp] keys with paired cross-validation (grid, random, TPE).
        .target(name: "Sweep", dependencies: ["Engine", "Settings"], swiftSettings: strictSettings),
        // ncursesw through a module map and a shim header (no pkgConfig: SwiftPM drops its flags).
        .systemLibrary(name: "CNCurses", path: "Sources/CNCurses"),
        .target(
            name: "TUI",
            dependencies: ["Engine", "Tracking", "Settings", "CNCurses"],
            swiftSettings: strictSettings
        ),
        // The model service (`sonarlab serve`): Open Inference Protocol V2 and MLflow scoring routes, the model
        // holder, recording through the outbox, limits and /metrics.
        .target(
            name: "Serving",
            dependencies: [
                "Engine", "Tracking", "HBase", "ServingAuth",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SonarLabCLI",
            dependencies: [
                "Engine", "Settings", "Tracking", "HBase", "TUI", "Serving", "ServingAuth", "Sweep",
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(name: "sonarlab", dependencies: ["SonarLabCLI"], swiftSettings: strictSettings),
        .executableTarget(name: "sonarlab-bench", dependencies: ["Engine"], swiftSettings: strictSettings),
        .executableTarget(name: "dashboard-bench", dependencies: ["Engine", "TUI"], swiftSettings: strictSettings),
        // Callers' authentication (bearer, Kerberos SPNEGO), allow-lists and TLS for the model service (`sonarlab serve`).
        .target(
            name: "ServingAuth",
            dependencies: [
                "Kerberos", "Settings",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Fuzzing (docs/fuzzing.md): the checks, shared with the regression tests, and one libFuzzer executable per
        // parser. `make fuzz` builds them with `swift build --sanitize=fuzzer`, where libFuzzer supplies `main`; in an
        // ordinary build SwiftPM points `main` at `<target>_main`, which each defines to replay input files.
        // `-parse-as-library` keeps the compiler from synthesising an entry point of its own in either build.
        .target(
            name: "SonarLabFuzzChecks",
            dependencies: ["Engine", "Settings", "HBase"],
            path: "Fuzz/SonarLabFuzzChecks",
            swiftSettings: strictSettings
        ),
    ] + ["csv", "ini", "scenario", "cellset"].map { name in
        .executableTarget(
            name: "fuzz-\(name)",
            dependencies: ["SonarLabFuzzChecks"],
            path: "Fuzz/fuzz-\(name)",
            swiftSettings: strictSettings + [.unsafeFlags(["-parse-as-library"])]
        )
    } + [
        // posix_spawn with closefrom and waitpid for the test helpers (see Tests/SonarLabTestSupport/ChildProcess.swift).
        .target(name: "CProcessSpawn", path: "Tests/CProcessSpawn"),
        .target(
            name: "SonarLabTestSupport",
            dependencies: ["CProcessSpawn", "Engine", "Tracking", "Settings", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
            path: "Tests/SonarLabTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["SonarLabFuzzChecks"], swiftSettings: strictSettings),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "SonarLabTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "KerberosTests", dependencies: ["Kerberos", "SonarLabTestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "TUITests",
            dependencies: [
                "TUI", "Engine", "SonarLabTestSupport",
                // The Service screen's tests start a fake model service.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "SettingsTests", dependencies: ["Settings", "SonarLabTestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "HBaseTests",
            dependencies: [
                "HBase", "HBaseRESTDouble", "SonarLabTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SonarLabCLITests",
            dependencies: [
                "SonarLabCLI", "SonarLabTestSupport", "Tracking", "Engine", "Settings", "HBase", "HBaseRESTDouble",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ServingTests",
            dependencies: [
                "Serving", "ServingAuth", "Engine", "Tracking", "HBase", "HBaseRESTDouble", "SonarLabTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TrackingTests",
            dependencies: [
                "Tracking", "HBase", "HBaseRESTDouble", "SonarLabTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ServingAuthTests",
            dependencies: [
                "ServingAuth", "Kerberos", "Settings", "SonarLabTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SweepTests", dependencies: ["Sweep", "Engine", "Settings", "SonarLabTestSupport"],
            swiftSettings: strictSettings),
    ]
)
