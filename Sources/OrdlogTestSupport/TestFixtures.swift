import Foundation

/// A fixture file or folder the tests need is not in the checkout.
public struct FixtureMissing: Error, CustomStringConvertible {
    /// The path that was looked for.
    public var path: String
    /// What was wrong with it.
    public var reason: String

    public var description: String {
        "test fixture \(path) \(reason). Fixtures live in Tests/Fixtures (see its README.md); "
            + "the moto captures are regenerated with scripts/capture-moto.py."
    }
}

/// The package's own files for tests: the package root, `Tests/Fixtures/`, `samples/`, and the sample lists.
///
/// Everything a test reads is inside the repository. A missing fixture throws ``FixtureMissing`` naming the path;
/// it is never an empty list.
public enum TestFixtures {
    /// The package root: the nearest ancestor of this source file holding `Package.swift`.
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// `Tests/Fixtures` in the package root.
    public static let root: URL = packageRoot.appendingPathComponent("Tests/Fixtures")

    /// `Tests/Fixtures/<relative>`, which must exist.
    public static func url(_ relative: String) throws -> URL {
        let url = root.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw FixtureMissing(path: url.path, reason: "does not exist")
        }
        return url
    }

    /// `Tests/Fixtures/<relative>` as a path, which must exist.
    public static func path(_ relative: String) throws -> String { try url(relative).path }

    /// The names in fixture folder `folder` ending in `suffix`, sorted; throws if the folder is missing or has none.
    public static func names(_ folder: String, suffix: String = "") throws -> [String] {
        let dir = try url(folder)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        } catch {
            throw FixtureMissing(path: dir.path, reason: "cannot be listed (\(error))")
        }
        let matching = names.filter { $0.hasSuffix(suffix) }.sorted()
        guard !matching.isEmpty else {
            throw FixtureMissing(path: dir.path, reason: "holds no \(suffix.isEmpty ? "files" : "*\(suffix) files")")
        }
        return matching
    }

    /// Paths of the files in fixture folder `folder` ending in `suffix`, sorted; throws if there are none.
    public static func files(_ folder: String, suffix: String = ".json") throws -> [String] {
        let dir = root.appendingPathComponent(folder)
        return try names(folder, suffix: suffix).map { dir.appendingPathComponent($0).path }
    }

    /// `samples/<name>` (the project's shipped sample traffic).
    public static func sample(_ name: String) -> String { packageRoot.appendingPathComponent("samples/\(name)").path }

    /// The Lambda SQS events in `Tests/Fixtures/public/` (written by others; see the README there).
    public static let publicSQSEvents = [
        "aws-lambda-go__sqs-event.json", "aws-lambda-java-libs__sqs_event_product.json",
        "powertools-python__snsSqsEvent.json", "powertools-python__snsSqsFifoEvent.json",
        "powertools-python__sqsDlqTriggerEvent.json", "powertools-python__sqsEvent.json",
    ]

    /// The files of the sample log many suites start from: the moto captures (both delivery modes), the public
    /// Lambda SQS events and the project's order traffic (34 messages, 1 dead-lettered).
    public static func sampleLogFiles() throws -> [String] {
        try files("moto-captured/messages") + files("moto-captured/messages-raw-delivery")
            + publicSQSEvents.map { try path("public/\($0)") } + [sample("order-traffic.jsonl")]
    }

    /// A captured moto message file, decoded: `moto-captured/<folder>/<label>.sqs-message.json`.
    public static func motoMessage(_ label: String, rawDelivery: Bool = false) throws -> [String: Any] {
        let folder = rawDelivery ? "moto-captured/messages-raw-delivery" : "moto-captured/messages"
        let data = try Data(contentsOf: try url("\(folder)/\(label).sqs-message.json"))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureMissing(path: "\(folder)/\(label).sqs-message.json", reason: "is not a JSON object")
        }
        return object
    }

    /// The SQS MessageId of a captured moto message (the script's output decides it, so tests read it from there).
    public static func motoMessageId(_ label: String, rawDelivery: Bool = false) throws -> String {
        let m = try motoMessage(label, rawDelivery: rawDelivery)
        guard let id = m["MessageId"] as? String else {
            throw FixtureMissing(path: "moto-captured/…/\(label).sqs-message.json", reason: "has no MessageId")
        }
        return id
    }

    /// The SNS MessageId inside a captured moto message's envelope.
    public static func motoSNSMessageId(_ label: String) throws -> String {
        let m = try motoMessage(label)
        guard let body = m["Body"] as? String,
            let envelope = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let id = envelope["MessageId"] as? String
        else {
            throw FixtureMissing(path: "moto-captured/messages/\(label).sqs-message.json", reason: "has no envelope")
        }
        return id
    }
}
