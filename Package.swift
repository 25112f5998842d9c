// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ordlog",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ordlog", targets: ["ordlog"]),
        .library(name: "OrdlogCore", targets: ["OrdlogCore"]),
        .library(name: "OrdlogAWS", targets: ["OrdlogAWS"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
        // The metrics API only (no backend, no NIO): the consumer emits through it; the executable picks the backend.
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        // The Prometheus backend for swift-metrics, in the executable only. Depends on swift-atomics and
        // CoreMetrics, no NIO: measured here (2 cores) 12 s for a first debug build, 26 s release.
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        // The system libsqlite3 (Debian: libsqlite3-dev), wrapped by OrdlogCore/SQLite.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The system libcurl (Debian: libcurl4-openssl-dev), OrdlogAWS's HTTP transport (CurlTransport).
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // What every other module shares, one copy each: JSON (value, parser, writer, encoder), hex, time formats
        // (RFC 3339, UTC calendar arithmetic), the lock-protected state box and full-jitter back-off. Foundation only,
        // so it stays a leaf: the hash chain and the log handler no longer reach into the AWS wire layer for them.
        .target(name: "OrdlogShared"),
        // The AWS wire layer: SigV4, credentials, SQS/SNS/DynamoDB clients, the libcurl transport. Knows nothing
        // of orders.
        .target(
            name: "OrdlogAWS",
            dependencies: [
                "CCurl",
                "OrdlogShared",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // All of ordlog's behaviour: event log, processor, projections, replay, audit.
        .target(
            name: "OrdlogCore",
            dependencies: [
                "CSQLite",
                "OrdlogAWS",
                "OrdlogShared",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Operating a long-running process: the /metrics and /healthz listener (POSIX sockets, one accept
        // thread) and the JSON Lines log handler. Foundation, swift-log and OrdlogShared only (no AWS, no Prometheus).
        .target(
            name: "OrdlogOps",
            dependencies: ["OrdlogShared", .product(name: "Logging", package: "swift-log")]
        ),
        // The thin command-line front end; the only place a metrics backend is bootstrapped.
        .executableTarget(
            name: "ordlog",
            dependencies: [
                "OrdlogCore",
                "OrdlogAWS",
                "OrdlogOps",
                "OrdlogShared",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "OrdlogCoreTests",
            dependencies: [
                "OrdlogCore", "CSQLite", "OrdlogTestSupport", .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // What the test targets share: the fixtures in Tests/Fixtures (package root, paths, sample lists; a missing
        // fixture throws), the process runner and sqlite3 shell, self-removing temporary directories, and the
        // moto_server launcher with its `.motoServer()` trait. Foundation and Testing only.
        .target(name: "OrdlogTestSupport"),
        .testTarget(name: "OrdlogSharedTests", dependencies: ["OrdlogShared"]),
        .testTarget(name: "OrdlogAWSTests", dependencies: ["OrdlogAWS", "OrdlogTestSupport"]),
        .testTarget(name: "OrdlogCLITests", dependencies: ["OrdlogCore", "OrdlogAWS", "OrdlogTestSupport"]),
        .testTarget(
            name: "OrdlogOpsTests", dependencies: ["OrdlogOps", .product(name: "Logging", package: "swift-log")]),
    ],
    swiftLanguageModes: [.v6]
)
