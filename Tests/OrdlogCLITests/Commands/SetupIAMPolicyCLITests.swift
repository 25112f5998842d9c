import Foundation
import OrdlogCore
import Testing

/// `ordlog setup --print-iam-policy [--archive-to s3://BUCKET/PREFIX]` through the binary: the printed document, the
/// help that says when there is an S3 statement, and the usage errors.
@Suite struct SetupIAMPolicyCLITests {
    static let base = ["setup", "--print-iam-policy", "--region", "eu-west-1", "--account-id", "123456789012"]

    static func statements(_ stdout: String) throws -> [String: JSONObject] {
        let root = try #require(
            try JSONParser.parse(stdout.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue)
        let list = try #require(root["Statement"]?.arrayValue).compactMap(\.objectValue)
        return Dictionary(uniqueKeysWithValues: list.map { ($0["Sid"]?.stringValue ?? "", $0) })
    }

    static func strings(_ value: JSONValue?) -> [String]? { value?.arrayValue?.compactMap(\.stringValue) }

    @Test("--archive-to adds the S3 statements scoped to the prefix; without it there are none")
    func archiveToAddsScopedS3Statements() throws {
        let plain = try CLI.run(Self.base)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(
            try Set(Self.statements(plain.stdout).keys) == [
                "ConsumeOrderQueue", "InspectDeadLetterQueue", "ProjectOrders",
            ])
        #expect(!plain.stdout.contains("s3:"), "\(plain.stdout)")

        let r = try CLI.run(Self.base + ["--archive-to", "s3://ordlog-archive/prod/"])
        #expect(r.status == 0, "\(r.stderr)")
        let s = try Self.statements(r.stdout)
        #expect(s.count == 5)
        let objects = try #require(s["ArchiveLogObjects"])
        #expect(
            Self.strings(objects["Action"]) == [
                "s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
            ])
        #expect(Self.strings(objects["Resource"]) == ["arn:aws:s3:::ordlog-archive/prod/*"])
        let list = try #require(s["ListArchiveLog"])
        #expect(Self.strings(list["Action"]) == ["s3:ListBucket"])
        #expect(Self.strings(list["Resource"]) == ["arn:aws:s3:::ordlog-archive"])
        #expect(
            Self.strings(list["Condition"]?.objectValue?["StringLike"]?.objectValue?["s3:prefix"]) == ["prod/*"])
        // The SQS and DynamoDB statements are the same with and without the archive.
        let before = try Self.statements(plain.stdout)
        for sid in ["ConsumeOrderQueue", "InspectDeadLetterQueue", "ProjectOrders"] { #expect(s[sid] == before[sid]) }
    }

    @Test("the help says the policy has no S3 statement without --archive-to")
    func helpSaysWhenThereIsS3() throws {
        let r = try CLI.run(["setup", "--help"])
        #expect(r.status == 0, "\(r.stderr)")
        let help = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("--archive-to"), "\(r.stdout)")
        #expect(help.contains("no S3 statement unless --archive-to"), "\(r.stdout)")
    }

    @Test(
        "--archive-to: usage errors (exit 64) without --print-iam-policy, for a non-s3 URL, and for a wildcard prefix")
    func archiveToUsageErrors() throws {
        let cases: [([String], String)] = [
            (["setup", "--archive-to", "s3://ordlog-archive/prod"], "--archive-to goes with --print-iam-policy"),
            (Self.base + ["--archive-to", "/var/lib/ordlog"], "--archive-to must be s3://BUCKET[/PREFIX]"),
            (Self.base + ["--archive-to", "s3://ordlog-archive/prod*"], "wildcards"),
        ]
        for (args, message) in cases {
            let r = try CLI.run(args)
            #expect(r.status == 64, "\(args): \(r.stderr)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(args): \(r.stdout)")
        }
    }
}
