import Foundation
import Testing

@testable import OrdlogCore

/// `setup --print-iam-policy`'s document: the SQS/DynamoDB statements, and with an archive the S3 statements the
/// s3 durability mode, `--archive-every/--archive-to`, `ordlog archive` and `--db s3://` reads need, scoped to the
/// archive's prefix.
@Suite struct ConsumerIAMPolicyTests {
    static func statements(_ policy: String) throws -> [JSONObject] {
        let root = try #require(try JSONParser.parse(policy).objectValue)
        #expect(root["Version"]?.stringValue == "2012-10-17")
        #expect(root.members.map(\.key) == ["Version", "Statement"])
        let list = try #require(root["Statement"]?.arrayValue)
        return try list.map { try #require($0.objectValue) }
    }

    static func strings(_ value: JSONValue?) -> [String]? { value?.arrayValue?.compactMap(\.stringValue) }

    /// Every statement is one IAM accepts: a unique alphanumeric Sid, Allow, non-empty Action and Resource lists
    /// (`Condition` allowed), nothing else.
    static func expectWellFormed(_ statements: [JSONObject]) {
        let sids = statements.compactMap { $0["Sid"]?.stringValue }
        #expect(sids.count == statements.count)
        #expect(Set(sids).count == sids.count, "duplicate Sid in \(sids)")
        for s in statements {
            let sid = s["Sid"]?.stringValue ?? ""
            #expect(!sid.isEmpty && sid.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }, "Sid \(sid)")
            #expect(s["Effect"]?.stringValue == "Allow")
            #expect(!(strings(s["Action"]) ?? []).isEmpty, "\(sid)")
            #expect(!(strings(s["Resource"]) ?? []).isEmpty, "\(sid)")
            #expect(
                Set(s.members.map(\.key)).isSubset(of: ["Sid", "Effect", "Action", "Resource", "Condition"]), "\(sid)")
        }
    }

    /// IAM's wildcard matching for ARNs and StringLike: `*` any run of characters, `?` one.
    static func iamLike(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern)
        let t = Array(text)
        func match(_ i: Int, _ j: Int) -> Bool {
            if i == p.count { return j == t.count }
            if p[i] == "*" { return (j...t.count).contains { match(i + 1, $0) } }
            return j < t.count && (p[i] == "?" || p[i] == t[j]) && match(i + 1, j + 1)
        }
        return match(0, 0)
    }

    @Test("without an archive: the three SQS/DynamoDB statements and no S3 statement")
    func noArchiveNoS3() throws {
        let policy = PipelineSetup.consumerIAMPolicy(PipelineResources(), region: "eu-west-1", account: "123456789012")
        let statements = try Self.statements(policy)
        Self.expectWellFormed(statements)
        #expect(
            statements.compactMap { $0["Sid"]?.stringValue } == [
                "ConsumeOrderQueue", "InspectDeadLetterQueue", "ProjectOrders",
            ])
        #expect(!policy.contains("s3:"), "\(policy)")
        #expect(Self.strings(statements[2]["Resource"]) == ["arn:aws:dynamodb:eu-west-1:123456789012:table/Orders"])
    }

    @Test("with s3://BUCKET/PREFIX: object actions on PREFIX/* only, ListBucket on the bucket limited to PREFIX/*")
    func archiveStatementsScopedToPrefix() throws {
        let archive = try #require(S3Location(parsing: "s3://ordlog-archive/prod/eu"))
        let policy = PipelineSetup.consumerIAMPolicy(
            PipelineResources(), region: "eu-west-1", account: "123456789012", archive: archive)
        let statements = try Self.statements(policy)
        Self.expectWellFormed(statements)
        #expect(
            statements.compactMap { $0["Sid"]?.stringValue } == [
                "ConsumeOrderQueue", "InspectDeadLetterQueue", "ProjectOrders", "ArchiveLogObjects", "ListArchiveLog",
            ])
        let objects = statements[3]
        #expect(
            Self.strings(objects["Action"]) == [
                "s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
            ])
        #expect(Self.strings(objects["Resource"]) == ["arn:aws:s3:::ordlog-archive/prod/eu/*"])
        #expect(objects["Condition"] == nil)
        let list = statements[4]
        #expect(Self.strings(list["Action"]) == ["s3:ListBucket"])
        #expect(Self.strings(list["Resource"]) == ["arn:aws:s3:::ordlog-archive"])
        let condition = try #require(list["Condition"]?.objectValue)
        #expect(condition.members.map(\.key) == ["StringLike"])
        let like = try #require(condition["StringLike"]?.objectValue)
        #expect(like.members.map(\.key) == ["s3:prefix"])
        #expect(Self.strings(like["s3:prefix"]) == ["prod/eu/*"])
    }

    @Test("the keys ordlog writes and the prefixes it lists fall inside the statements, and nothing beside them")
    func statementsCoverTheArchiveLayout() throws {
        let archive = try #require(S3Location(parsing: "s3://ordlog-archive/prod/eu"))
        let s3 = PipelineSetup.archiveStatements(archive).compactMap(\.objectValue)
        let objectPattern = try #require(Self.strings(s3[0]["Resource"])?.first)
        let listPattern = try #require(
            Self.strings(s3[1]["Condition"]?.objectValue?["StringLike"]?.objectValue?["s3:prefix"])?.first)
        let segment = SegmentName(consumerId: "consumer-a", firstSeq: 1, lastSeq: 4_096)
        for key in [archive.key(segment.description), archive.key(segment.manifest)] {
            #expect(Self.iamLike(objectPattern, "arn:aws:s3:::ordlog-archive/" + key), "\(key)")
        }
        // What a read of s3://BUCKET/PREFIX and of s3://BUCKET/PREFIX/<consumerId> lists (prefix + "/").
        for listed in [archive.prefix + "/", archive.key("consumer-a") + "/"] {
            #expect(Self.iamLike(listPattern, listed), "\(listed)")
        }
        // A neighbouring prefix that merely starts the same is outside both.
        #expect(!Self.iamLike(objectPattern, "arn:aws:s3:::ordlog-archive/prod/eu-other/consumer-a/x.ordlog"))
        #expect(!Self.iamLike(listPattern, "prod/eu-other/"))
        #expect(!Self.iamLike(objectPattern, "arn:aws:s3:::ordlog-archive-2/prod/eu/consumer-a/x.ordlog"))
    }

    @Test("s3://BUCKET without a prefix: the whole bucket, and no s3:prefix condition")
    func bucketWithoutPrefix() throws {
        let archive = try #require(S3Location(parsing: "s3://ordlog-archive"))
        let s3 = PipelineSetup.archiveStatements(archive).compactMap(\.objectValue)
        #expect(s3.count == 2)
        #expect(Self.strings(s3[0]["Resource"]) == ["arn:aws:s3:::ordlog-archive/*"])
        #expect(Self.strings(s3[1]["Resource"]) == ["arn:aws:s3:::ordlog-archive"])
        #expect(s3[1]["Condition"] == nil)
    }

    @Test("a prefix with IAM wildcards or a policy variable is refused")
    func wildcardPrefixRefused() throws {
        for spec in ["s3://ordlog-archive/prod*", "s3://ordlog-archive/p?d", "s3://ordlog-archive/${aws:username}"] {
            let location = try #require(S3Location(parsing: spec))
            #expect(PipelineSetup.archivePolicyProblem(location) != nil, "\(spec)")
        }
        let plain = try #require(S3Location(parsing: "s3://ordlog-archive/prod/eu-west-1_a"))
        #expect(PipelineSetup.archivePolicyProblem(plain) == nil)
    }
}
