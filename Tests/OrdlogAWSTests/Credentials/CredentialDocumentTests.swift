import Foundation
import Testing

@testable import OrdlogAWS

/// The one JSON credentials rule shared by the container endpoints, instance metadata and credential_process.
@Suite struct CredentialDocumentTests {
    @Test("keys, the session token under the source's name, Expiration parsed; a missing key or bad time is an error")
    func documentedJSON() throws {
        let c = try AWSCredentials(
            documentedJSON: [
                "AccessKeyId": "ASIAX", "SecretAccessKey": "s3cret", "Token": "tok",
                "Expiration": "2099-01-01T00:00:00Z",
            ], sessionTokenKey: "Token", source: "container", subject: "the answer")
        #expect(c.accessKeyId == "ASIAX" && c.secretAccessKey == "s3cret" && c.sessionToken == "tok")
        #expect(c.expiration == parseAWSTimestamp("2099-01-01T00:00:00Z"))
        let process = try AWSCredentials(
            documentedJSON: ["AccessKeyId": "A", "SecretAccessKey": "s", "Token": "ignored", "SessionToken": "st"],
            sessionTokenKey: "SessionToken", source: "process", subject: "its output")
        #expect(process.sessionToken == "st" && process.expiration == nil)
        do {
            _ = try AWSCredentials(
                documentedJSON: ["AccessKeyId": "A", "SecretAccessKey": ""], sessionTokenKey: "Token",
                source: "container", subject: "the answer")
            Issue.record("an empty secret was accepted")
        } catch let e as CredentialSourceError {
            #expect("\(e)".contains("the answer has no AccessKeyId and SecretAccessKey"), "\(e)")
        }
        do {
            _ = try AWSCredentials(
                documentedJSON: ["AccessKeyId": "A", "SecretAccessKey": "s", "Expiration": "tomorrow"],
                sessionTokenKey: "Token", source: "process", subject: "its output")
            Issue.record("a bad Expiration was accepted")
        } catch let e as CredentialSourceError {
            #expect("\(e)".contains("its output has an Expiration 'tomorrow' that is not an RFC 3339 time"), "\(e)")
        }
    }
}
