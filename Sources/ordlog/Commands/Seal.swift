import ArgumentParser
import Foundation
import OrdlogAWS
import OrdlogCore

/// The ordlog version written into segment manifests.
let ordlogVersion = Ordlog.configuration.version

struct Seal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Close the log's current segment into a sealed file + manifest; the log continues as the next one.",
        discussion: """
            Writes a consistent snapshot of the log's records since the last seal to \
            DIR/<consumerId>/<first seq, 20 digits>-<last seq, 20 digits>.ordlog and its manifest (same name + \
            .manifest.json: consumer id, queue, seq range, previous and head hash, sha256 and size of the file), each \
            to a temporary name, fsynced and renamed. Then the live log is replaced, atomically, by a new file that \
            keeps the local projection and whose first record will link to the sealed head. Reading commands given \
            the live log (--db) still read the sealed segments in <log>.segments: they verify each file and each \
            link and read the whole chain (segments sealed elsewhere with --segments are given with --db too, e.g. \
            --db orders.db --db 'DIR/c1/*.ordlog'). A sealed segment is never changed again; `ordlog archive` \
            uploads it to S3.

            <consumerId> is the log's consumer as its identity record names it (see consume --consumer-id), with \
            every character other than A-Z a-z 0-9 . _ - written as _. A log from before identity records gets one \
            first: --consumer-id, else as consume would choose.

            The log must not be open in another process (a running consume): seal refuses, changing nothing. \
            `consume --archive-every` seals from inside the consumer.

            Examples:
              ordlog seal --db orders.db
              ordlog seal --db orders.db --segments /var/lib/ordlog/segments

            A seal killed mid-way leaves temporary files: <segment>.tmp-<pid>-<ms> (the size of a segment) and \
            <manifest>.tmp-<pid> in DIR/<consumerId>, <log>.sealing-<pid>-<ms> next to the log. The next seal of \
            the log removes those whose process is no longer running (never a running one's) and names each.

            JSON: {"sealed":B,"segment":PATH|null,"manifest":{…the manifest…}|null,"removedLeftovers":[{"path":P,\
            "kind":"segment-snapshot"|"next-live-file"|"atomic-write","pid":N,"bytes":N}…]}. \
            Exit codes: 0 sealed (or nothing to seal), 64 usage, 70 the log cannot be read or written, or is open \
            elsewhere (or another ordlog process is writing it).
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Where sealed segments go (default: <log>.segments).", valueName: "dir"))
    var segments: String?

    @Option(
        help: ArgumentHelp(
            "Who wrote the log, recorded in it (an identity record, as consume records one) when it records none "
                + "yet (a log from before identities). Default as for consume. A log that names its consumer keeps it.",
            valueName: "id"))
    var consumerId: String?

    func run() throws {
        try runReportingErrors {
            let result: SealResult?
            do {
                let log = try global.openLog(write: true)
                result = try Segments.seal(
                    log, directory: segments, ordlogVersion: ordlogVersion, consumerId: consumerId
                ) { queue in _ = try global.recordIdentity(log, consumerId: consumerId, queue: queue) }
            } catch let e as SegmentError {
                throw CLIError(code: .storage, message: "cannot seal \(global.dbPath): \(e)")
            } catch let e as SealConsumerMismatch {
                throw CLIError(code: .usage, message: "\(global.dbPath) is \(e): leave out --consumer-id")
            }
            if global.json {
                try printJSON(SealOutput(result))
                return
            }
            for l in result?.removedLeftovers ?? [] {
                say(
                    "removed \(l.path) (\(l.kind.rawValue), \(l.bytes) bytes): left by a seal (pid \(l.pid)) "
                        + "that is no longer running")
            }
            if let result {
                let m = result.manifest
                say("sealed seq \(m.firstSeq)…\(m.lastSeq) of \(m.consumerId) into \(result.segmentPath)")
                say("head \(m.lastSeq):\(RecordHash.hex(m.headHash)), sha256 \(m.sha256), \(m.bytes) bytes")
                say("the log continues at seq \(m.lastSeq + 1)")
            } else {
                say("nothing to seal: the current segment of \(global.dbPath) has no records")
            }
        }
    }
}

struct Archive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Upload the log's sealed segments and their manifests to S3, idempotently.",
        discussion: """
            Uploads every sealed segment of the log (see `ordlog seal`) to s3://BUCKET/PREFIX/<consumerId>/… with \
            PutObject (x-amz-checksum-sha256; multipart above --multipart-threshold-mib), then its manifest. A \
            segment already there with the same checksum is skipped; one with other bytes is an error and is never \
            overwritten. A segment is trusted by readers only once its manifest is there, so an interrupted archive \
            leaves nothing a reader trusts; run it again to finish.

            Examples:
              ordlog archive --db orders.db --to s3://audit-logs/ordlog
              ordlog archive --db orders.db --to s3://audit-logs/ordlog --endpoint-url http://127.0.0.1:5000

            A segment file that does not match its manifest (edited after sealing) or has none (an interrupted seal) \
            is never uploaded: archive names each one and exits 1, after uploading the trusted ones.

            JSON: {"uploaded":[NAME…],"alreadyArchived":[NAME…],"untrusted":[{"path":P,"reason":S}…],"to":"s3://…"}. \
            Exit codes: 0 done, 1 S3 holds other bytes under a segment's name or a segment is untrusted, 5 an AWS call failed, 64 usage, \
            70 the log or a segment cannot be read.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var aws: AWSOptions

    @Option(help: ArgumentHelp("Where to upload: s3://BUCKET/PREFIX.", valueName: "s3-url"))
    var to: String

    @Option(help: ArgumentHelp("Where the sealed segments are (default: <log>.segments).", valueName: "dir"))
    var segments: String?

    @Option(help: ArgumentHelp("Files above this many MiB are uploaded in parts.", valueName: "MiB"))
    var multipartThresholdMib = 16

    @Option(help: ArgumentHelp("Multipart part size in MiB (S3's minimum is 5).", valueName: "MiB"))
    var partSizeMib = 16

    func validate() throws {
        if S3Location(parsing: to) == nil { throw ValidationError("--to must be s3://BUCKET[/PREFIX], got \(to)") }
        if partSizeMib < 5 || multipartThresholdMib < 1 {
            throw ValidationError("--part-size-mib must be 5 or more, --multipart-threshold-mib 1 or more")
        }
    }

    func run() async throws {
        try await runReportingErrorsAsync {
            let location = S3Location(parsing: to)!
            let dir = segments ?? Segments.defaultDirectory(forLog: global.dbPath)
            guard FileManager.default.fileExists(atPath: global.dbPath) || FileManager.default.fileExists(atPath: dir)
            else {
                throw CLIError(code: .storage, message: "no event log at \(global.dbPath) and no segments in \(dir)")
            }
            let sealed = Segments.trustedSegments(in: dir)
            // Damaged or half-written segments are named and make the exit 1; the trusted ones are still uploaded
            // (each is checked against its own manifest, and a reader finds a gap in the chain by itself), so one
            // bad file does not hold back the archive of the rest.
            let untrusted = Segments.untrustedSegmentFiles(in: dir)
            var archive = SegmentArchive(s3: S3Client(configuration: try aws.configuration()), location: location)
            archive.multipartThreshold = multipartThresholdMib << 20
            archive.partSize = partSizeMib << 20
            let summary: ArchiveSummary
            do { summary = try await archive.upload(sealed) } catch let e as SegmentError {
                throw CLIError(code: .checkFailed, message: "\(e)")
            }
            if global.json {
                try printJSON(
                    ArchiveOutput(
                        uploaded: summary.uploaded.map(\.description),
                        alreadyArchived: summary.alreadyArchived.map(\.description),
                        untrusted: untrusted.map { ArchiveOutput.Untrusted(path: $0.path, reason: $0.reason) },
                        to: location.description))
            } else {
                for n in summary.uploaded { say("uploaded \(location.key(n.description)) and its manifest") }
                say(
                    "\(summary.uploaded.count) segment\(summary.uploaded.count == 1 ? "" : "s") uploaded, "
                        + "\(summary.alreadyArchived.count) already archived, to \(location)")
                if sealed.isEmpty, untrusted.isEmpty {
                    say("nothing sealed yet: run `ordlog seal --db \(global.dbPath)` first")
                }
            }
            if !untrusted.isEmpty {
                throw CLIError(
                    code: .checkFailed,
                    message: "\(untrusted.count) segment\(untrusted.count == 1 ? " was" : "s were") not archived: "
                        + untrusted.map { "\($0.path) \($0.reason)" }.joined(separator: "; ")
                        + " (run `ordlog verify --db \(global.dbPath)`)")
            }
        }
    }
}
