// swift-tools-version: 6.1
import PackageDescription

let strictSwift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "crm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "crm-contacts", targets: ["crm-contacts"]),
        .executable(name: "crm-deals", targets: ["crm-deals"]),
        .executable(name: "crm-analytics", targets: ["crm-analytics"]),
        .executable(name: "crm-scheduler", targets: ["crm-scheduler"]),
        .executable(name: "crm-suppliers", targets: ["crm-suppliers"]),
        .executable(name: "crmctl", targets: ["crmctl"]),
        .executable(name: "crm-bench", targets: ["crm-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // librdkafka through pkg-config (Debian: librdkafka-dev).
        .systemLibrary(
            name: "CRdKafka",
            path: "Shared/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // OpenSSL's libcrypto (Debian: libssl-dev), which librdkafka links already: webhook signatures.
        .systemLibrary(
            name: "CLibCrypto",
            path: "Shared/CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // What no Swift module exposes: allocator settings and thread names (prctl). Every executable
        // links jemalloc through it (Debian: libjemalloc-dev): a replay allocates on one thread and
        // frees on another millions of times, which jemalloc does far more cheaply than glibc
        // (docs/benchmarks.md, eighth session).
        .target(
            name: "CPlatform",
            path: "Shared/CPlatform",
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),
        // What Swift code sees of CPlatform: thread helpers and the allocator.
        .target(
            name: "Platform",
            dependencies: ["CPlatform"],
            path: "Shared/Platform",
            swiftSettings: strictSwift6
        ),
        // Wire-format basics, with no Kafka in them: JSON, exact decimals, UTC times, ids.
        .target(
            name: "WireFormat",
            path: "Shared/WireFormat",
            swiftSettings: strictSwift6
        ),
        // Every topic's events, one file per owning service, and the message catalogue.
        .target(
            name: "WireSchema",
            dependencies: ["WireFormat"],
            path: "Shared/WireSchema",
            swiftSettings: strictSwift6
        ),
        // librdkafka in Swift, and the CloudEvents Kafka binding (attributes as headers).
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                "Platform",
                "WireFormat",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/Kafka",
            swiftSettings: strictSwift6
        ),
        .target(
            name: "EventStore",
            dependencies: [
                "Platform",
                "Kafka",
                "WireFormat",
                "WireSchema",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/EventStore",
            swiftSettings: strictSwift6
        ),
        .target(
            name: "ServiceKit",
            dependencies: [
                "Platform",
                "Kafka",
                "WireFormat",
                "WireSchema",
                "EventStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/ServiceKit",
            swiftSettings: strictSwift6
        ),
        .target(
            name: "ContactsService",
            dependencies: [
                "ServiceKit",
                "EventStore",
                "WireFormat",
                "WireSchema",
                "Kafka",
                "Platform",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/Contacts/ContactsService",
            resources: [.copy("openapi.yaml")],
            swiftSettings: strictSwift6
        ),
        .executableTarget(
            name: "crm-contacts",
            dependencies: ["ContactsService", "ServiceKit"],
            path: "Services/Contacts/crm-contacts",
            swiftSettings: strictSwift6
        ),
        .target(
            name: "AnalyticsService",
            dependencies: [
                "ServiceKit",
                "EventStore",
                "WireFormat",
                "WireSchema",
                "Kafka",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Analytics/AnalyticsService",
            resources: [.copy("openapi.yaml")],
            swiftSettings: strictSwift6
        ),
        .executableTarget(
            name: "crm-analytics",
            dependencies: ["AnalyticsService", "ServiceKit"],
            path: "Services/Analytics/crm-analytics",
            swiftSettings: strictSwift6
        ),
        .target(
            name: "DealsService",
            dependencies: [
                "Platform",
                "ServiceKit",
                "EventStore",
                "WireFormat",
                "WireSchema",
                "Kafka",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Deals/DealsService",
            resources: [.copy("openapi.yaml")],
            swiftSettings: strictSwift6
        ),
        .executableTarget(
            name: "crm-deals",
            dependencies: ["DealsService", "ServiceKit"],
            path: "Services/Deals/crm-deals",
            swiftSettings: strictSwift6
        ),
        .target(
            name: "SchedulerService",
            dependencies: [
                "CLibCrypto",
                "Platform",
                "ServiceKit",
                "EventStore",
                "WireFormat",
                "WireSchema",
                "Kafka",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Scheduler/SchedulerService",
            resources: [.copy("openapi.yaml")],
            swiftSettings: strictSwift6
        ),
        .executableTarget(
            name: "crm-scheduler",
            dependencies: ["SchedulerService", "ServiceKit"],
            path: "Services/Scheduler/crm-scheduler",
            swiftSettings: strictSwift6
        ),
        .target(
            name: "SuppliersService",
            dependencies: [
                "Platform",
                "ServiceKit",
                "EventStore",
                "WireFormat",
                "WireSchema",
                "Kafka",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Suppliers/SuppliersService",
            resources: [.copy("openapi.yaml")],
            swiftSettings: strictSwift6
        ),
        .executableTarget(
            name: "crm-suppliers",
            dependencies: ["SuppliersService", "ServiceKit"],
            path: "Services/Suppliers/crm-suppliers",
            swiftSettings: strictSwift6
        ),
        .target(
            name: "CRMControl",
            dependencies: [
                "Kafka",
                "Platform",
                "WireFormat",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/crmctl/CRMControl",
            swiftSettings: strictSwift6
        ),
        .executableTarget(
            name: "crmctl",
            dependencies: [
                "CRMControl",
                "Platform",
                "ServiceKit",
                "Kafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/crmctl/crmctl",
            swiftSettings: strictSwift6
        ),
        .executableTarget(
            name: "crm-bench",
            dependencies: [
                "Platform", "AnalyticsService", "ContactsService", "SuppliersService", "EventStore", "Kafka", "WireFormat", "WireSchema",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/crm-bench",
            swiftSettings: strictSwift6
        ),
        // What every test target shares: quiet logs, the mock cluster, `withService`, problem checks.
        .target(
            name: "TestSupport",
            dependencies: [
                "Kafka",
                "Platform",
                "ServiceKit",
                "WireFormat",
                "WireSchema",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: ["Kafka", "TestSupport", .product(name: "Logging", package: "swift-log")],
            path: "Tests/KafkaTests",
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "WireFormatTests",
            dependencies: ["WireFormat"],
            path: "Tests/WireFormatTests",
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "WireSchemaTests",
            dependencies: ["WireSchema", "WireFormat", "Kafka"],
            path: "Tests/WireSchemaTests",
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "EventStoreTests",
            dependencies: [
                "Platform", "EventStore", "Kafka", "TestSupport", "WireFormat", "WireSchema",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/EventStoreTests",
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "ServiceKitTests",
            dependencies: [
                "EventStore", "Kafka", "ServiceKit", "TestSupport", "WireFormat", "WireSchema",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ServiceKitTests",
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "ContactsServiceTests",
            dependencies: [
                "ContactsService", "EventStore", "Kafka", "ServiceKit", "TestSupport", "WireFormat", "WireSchema",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ContactsServiceTests",
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "AnalyticsServiceTests",
            dependencies: [
                "AnalyticsService", "EventStore", "Kafka", "ServiceKit", "TestSupport", "WireFormat", "WireSchema",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/AnalyticsServiceTests",
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "DealsServiceTests",
            dependencies: [
                "DealsService", "EventStore", "Kafka", "ServiceKit", "TestSupport", "WireFormat", "WireSchema",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/DealsServiceTests",
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "SchedulerServiceTests",
            dependencies: [
                "SchedulerService", "EventStore", "Kafka", "ServiceKit", "TestSupport", "WireFormat", "WireSchema",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SchedulerServiceTests",
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "SuppliersServiceTests",
            dependencies: [
                "SuppliersService", "EventStore", "Kafka", "ServiceKit", "TestSupport", "WireFormat", "WireSchema",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SuppliersServiceTests",
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "CRMControlTests",
            dependencies: ["CRMControl", "Kafka", "TestSupport", "WireSchema"],
            path: "Tests/CRMControlTests",
            swiftSettings: strictSwift6
        ),
    ]
)
