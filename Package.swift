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
        .library(name: "TUI", targets: ["TUI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        .target(
            name: "Engine",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            // The SIMD kernels are ~10x slower unoptimised; tests and `swift run` train real models, so the
            // Engine is optimised in debug builds too (coverage still maps; bench uses release).
            swiftSettings: strictSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        .target(name: "Settings", swiftSettings: strictSettings),
        .target(
            name: "Tracking",
            dependencies: [
                "Engine",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // ncursesw through a module map and a shim header (no pkgConfig: SwiftPM drops its flags).
        .systemLibrary(name: "CNCurses", path: "Sources/CNCurses"),
        .target(
            name: "TUI",
            dependencies: ["Engine", "Tracking", "Settings", "CNCurses"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SonarLabCLI",
            dependencies: [
                "Engine", "Settings", "Tracking", "TUI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(name: "sonarlab", dependencies: ["SonarLabCLI"], swiftSettings: strictSettings),
        .executableTarget(name: "sonarlab-bench", dependencies: ["Engine"], swiftSettings: strictSettings),
        .target(
            name: "SonarLabTestSupport",
            dependencies: ["Engine", "Tracking", "Settings"],
            path: "Tests/SonarLabTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "SonarLabTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "TUITests", dependencies: ["TUI", "SonarLabTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "SettingsTests", dependencies: ["Settings", "SonarLabTestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "SonarLabCLITests",
            dependencies: [
                "SonarLabCLI", "SonarLabTestSupport", "Tracking", "Engine", "Settings",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TrackingTests",
            dependencies: ["Tracking", "SonarLabTestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
    ]
)
