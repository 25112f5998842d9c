import CCurl
import Foundation

/// ``HTTPTransport`` over the system libcurl's multi interface: one I/O thread per transport drives every
/// request in flight, connections are kept alive and reused (HTTP/1.1), and HTTPS uses curl's TLS backend with
/// the system CA store.
///
/// Chosen over URLSession, whose FoundationNetworking layer (itself on libcurl) cost most of `ordlog consume`'s
/// CPU; and over SwiftNIO/async-http-client, which would add a package graph of several minutes to every build
/// on a 2-core machine. libcurl is a system library (Debian: `libcurl4-openssl-dev`).
///
/// Behaviour:
/// - The request's headers are sent as given, except `Host`, which curl derives from ``HTTPRequest/url`` (the
///   same value ``AWSClient`` signs). Curl adds none of its own defaults: no `Expect: 100-continue`, no
///   `Accept: */*`, no form `Content-Type` unless the request names them; `Content-Length` is always sent for a
///   body.
/// - `GET` and `HEAD` without a body are sent as such; every other method carries ``HTTPRequest/body`` (possibly
///   empty, with `Content-Length: 0`).
/// - Redirects are not followed: any HTTP status, 3xx included, is a response.
/// - The response body is returned exactly as received (no content decoding); header names as received, values
///   without surrounding whitespace, a repeated header's values joined with `", "`.
/// - ``HTTPRequest/timeout`` bounds the whole exchange (connect to last byte), in seconds.
/// - `AWS_CA_BUNDLE` (a PEM file), when set, replaces curl's default CA store, as the AWS CLI and SDKs do.
/// - Cancelling the calling task aborts the transfer and throws `CancellationError`.
/// - A header name holding CR, LF or `:`, or a value holding CR or LF, is refused (``AWSTransportError``), never
///   sent.
///
/// - Throws (from ``send(_:)``): ``AWSTransportError`` with curl's message when no HTTP response arrived
///   (connection refused, timeout, DNS, TLS), `CancellationError` when the task was cancelled.
public final class CurlTransport: HTTPTransport {
    /// One process-wide transport (one I/O thread, one connection cache): the default of every client.
    public static let shared = CurlTransport()

    private let engine: CurlEngine

    /// - Parameters:
    ///   - maximumConnections: idle connections kept for reuse, over all hosts (curl's `CURLMOPT_MAXCONNECTS`); a
    ///     concurrent consumer wants one per request in flight. More connections than this may be open at once;
    ///     the extra ones are closed when their request ends.
    ///   - caBundle: a PEM file of CA certificates replacing curl's default store; defaults to `AWS_CA_BUNDLE`.
    public init(
        maximumConnections: Int = 64,
        caBundle: String? = ProcessInfo.processInfo.environment["AWS_CA_BUNDLE"].flatMap { $0.isEmpty ? nil : $0 }
    ) {
        engine = CurlEngine(maximumConnections: maximumConnections, caBundle: caBundle)
    }

    deinit { engine.stop() }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let transfer = CurlTransfer(request: request)
        let engine = self.engine
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.continuation = continuation
                engine.submit(transfer)
            }
        } onCancel: {
            engine.cancel(transfer)
        }
    }

    /// The libcurl version string, e.g. `libcurl/7.88.1 OpenSSL/3.0.15 zlib/1.2.13 …`.
    public static var curlVersion: String { String(cString: curl_version()) }
}

/// One request's state. Ownership moves in one direction: the calling task fills ``continuation`` and hands
/// the transfer to the engine under its lock; from then on only the I/O thread touches the other fields (curl
/// calls the write and header callbacks on that thread). ``cancelRequested`` is guarded by the engine's lock.
final class CurlTransfer: @unchecked Sendable {
    let request: HTTPRequest
    var continuation: CheckedContinuation<HTTPResponse, any Error>?
    var cancelRequested = false
    // I/O thread only, once submitted:
    var handle: CurlEasyHandle?
    var headerList: UnsafeMutablePointer<curl_slist>?
    var body = Data()
    var headers: [String: String] = [:]

    init(request: HTTPRequest) { self.request = request }

    func finish(_ result: Result<HTTPResponse, any Error>) {
        let c = continuation
        continuation = nil
        c?.resume(with: result)
    }
}

/// A reusable easy handle and its error buffer (I/O thread only).
final class CurlEasyHandle {
    let easy: UnsafeMutableRawPointer
    let errorBuffer: UnsafeMutablePointer<CChar>

    init?() {
        guard let easy = curl_easy_init() else { return nil }
        self.easy = easy
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        curl_easy_cleanup(easy)
        errorBuffer.deallocate()
    }
}

/// The I/O thread and the multi handle behind a ``CurlTransport``. Callers touch only the lock-guarded queues
/// (``submit(_:)``, ``cancel(_:)``, ``stop()``); everything else belongs to the thread.
final class CurlEngine: @unchecked Sendable {
    private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    /// What callers hand the I/O thread.
    private struct Queues {
        var pending: [CurlTransfer] = []
        var cancels: [CurlTransfer] = []
        var stopping = false
    }
    private let queues = Locked(Queues())
    // Set once in init; curl_multi_wakeup may be called from any thread.
    private let multi: UnsafeMutableRawPointer?
    private let caBundle: String?
    private let initFailure: String?
    // I/O thread only:
    private var idle: [CurlEasyHandle] = []
    private var active: [ObjectIdentifier: CurlTransfer] = [:]

    init(maximumConnections: Int, caBundle: String?) {
        self.caBundle = caBundle
        let global = Self.globalInit
        if global != CURLE_OK {
            multi = nil
            initFailure = "curl_global_init: " + String(cString: curl_easy_strerror(global))
            return
        }
        multi = curl_multi_init()
        guard let multi else {
            initFailure = "curl_multi_init failed"
            return
        }
        initFailure = nil
        _ = ordlog_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(1, maximumConnections))
        let thread = Thread { [self] in self.run() }
        thread.name = "ordlog.curl"
        thread.start()
    }

    /// Queues `transfer` for the I/O thread (or fails it at once if it was cancelled or the engine is stopped).
    func submit(_ transfer: CurlTransfer) {
        enum Outcome { case queued, cancelled, stopped }
        let outcome: Outcome = queues.withLock { queues in
            if transfer.cancelRequested { return .cancelled }
            if queues.stopping || multi == nil { return .stopped }
            queues.pending.append(transfer)
            return .queued
        }
        switch outcome {
        case .queued: curl_multi_wakeup(multi)
        case .cancelled: transfer.finish(.failure(CancellationError()))
        case .stopped:
            transfer.finish(
                .failure(
                    AWSTransportError(
                        endpoint: transfer.request.url, reason: initFailure ?? "the HTTP transport was stopped")))
        }
    }

    /// Asks the I/O thread to abort `transfer` (a no-op once it has finished).
    func cancel(_ transfer: CurlTransfer) {
        queues.withLock {
            transfer.cancelRequested = true
            $0.cancels.append(transfer)
        }
        if let multi { curl_multi_wakeup(multi) }
    }

    /// Ends the I/O thread; transfers still in flight fail.
    func stop() {
        queues.withLock { $0.stopping = true }
        if let multi { curl_multi_wakeup(multi) }
    }

    private func run() {
        guard let multi else { return }
        // CURLOPT_NOSIGNAL keeps curl's hands off signal dispositions, so a TLS write to a connection the peer
        // closed could raise SIGPIPE and end the process. Blocked on this thread (and the resolver threads curl
        // starts from it), the write fails with EPIPE instead; the rest of the process keeps the default.
        var pipe = sigset_t()
        sigemptyset(&pipe)
        sigaddset(&pipe, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipe, nil)
        var running: Int32 = 0
        while true {
            let (new, cancelled, stop) = queues.withLock { queues in
                defer {
                    queues.pending.removeAll(keepingCapacity: true)
                    queues.cancels.removeAll(keepingCapacity: true)
                }
                return (queues.pending, queues.cancels, queues.stopping)
            }
            if stop {
                for t in new { t.finish(.failure(AWSTransportError(endpoint: t.request.url, reason: "the HTTP transport was stopped"))) }
                for t in Array(active.values) {
                    complete(t, .failure(AWSTransportError(endpoint: t.request.url, reason: "the HTTP transport was stopped")))
                }
                break
            }
            for t in new { start(t) }
            for t in cancelled where active[ObjectIdentifier(t)] != nil { complete(t, .failure(CancellationError())) }
            curl_multi_perform(multi, &running)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                var user: UnsafeMutableRawPointer?
                _ = ordlog_curl_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &user)
                guard let user else { continue }
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
                complete(transfer, result(of: transfer, code: ordlog_curl_msg_result(message)))
            }
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        idle.removeAll()
        curl_multi_cleanup(multi)
    }

    /// The response (or the error) of a transfer curl reported done with `code`.
    private func result(of transfer: CurlTransfer, code: CURLcode) -> Result<HTTPResponse, any Error> {
        guard let handle = transfer.handle else {
            return .failure(AWSTransportError(endpoint: transfer.request.url, reason: "no easy handle"))
        }
        guard code == CURLE_OK else {
            var reason = String(cString: handle.errorBuffer)
            if reason.isEmpty { reason = String(cString: curl_easy_strerror(code)) }
            return .failure(AWSTransportError(endpoint: transfer.request.url, reason: reason))
        }
        var status = 0
        _ = ordlog_curl_easy_getinfo_long(handle.easy, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: transfer.headers, body: transfer.body))
    }

    /// Configures a (pooled) easy handle for `transfer` and adds it to the multi handle.
    private func start(_ transfer: CurlTransfer) {
        guard let multi, let handle = idle.popLast() ?? CurlEasyHandle() else {
            transfer.finish(.failure(AWSTransportError(endpoint: transfer.request.url, reason: "curl_easy_init failed")))
            return
        }
        let easy = handle.easy
        let request = transfer.request
        // A line break in a header would end it early and smuggle the rest in as another header or request.
        if let bad = request.headers.first(where: { h in
            h.name.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x3A } || h.value.utf8.contains { $0 == 0x0D || $0 == 0x0A }
        }) {
            idle.append(handle)
            transfer.finish(
                .failure(
                    AWSTransportError(
                        endpoint: request.url, reason: "header \(bad.name.debugDescription) holds a line break or colon")))
            return
        }
        handle.errorBuffer[0] = 0
        transfer.handle = handle
        let user = Unmanaged.passUnretained(transfer).toOpaque()
        _ = ordlog_curl_easy_setopt_pointer(easy, CURLOPT_PRIVATE, user)
        _ = request.url.absoluteString.withCString { ordlog_curl_easy_setopt_pointer(easy, CURLOPT_URL, $0) }
        _ = ordlog_curl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, handle.errorBuffer)
        _ = ordlog_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = ordlog_curl_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        _ = ordlog_curl_easy_setopt_long(
            easy, CURLOPT_TIMEOUT_MS, request.timeout > 0 ? max(1, Int((request.timeout * 1000).rounded())) : 0)
        if let caBundle {
            _ = caBundle.withCString { ordlog_curl_easy_setopt_pointer(easy, CURLOPT_CAINFO, $0) }
        }
        _ = ordlog_curl_easy_setopt_callback(easy, CURLOPT_WRITEFUNCTION, curlWriteCallback)
        _ = ordlog_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, user)
        _ = ordlog_curl_easy_setopt_callback(easy, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
        _ = ordlog_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, user)

        let sendsBody: Bool
        switch request.method {
        case "GET" where request.body.isEmpty:
            _ = ordlog_curl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
            sendsBody = false
        case "HEAD" where request.body.isEmpty:
            _ = ordlog_curl_easy_setopt_long(easy, CURLOPT_NOBODY, 1)
            sendsBody = false
        default:
            _ = ordlog_curl_easy_setopt_long(easy, CURLOPT_POST, 1)
            // Size first: with it set, COPYPOSTFIELDS copies exactly that many bytes (binary bodies included).
            _ = ordlog_curl_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
            if request.body.isEmpty {
                _ = "".withCString { ordlog_curl_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, $0) }
            } else {
                _ = request.body.withUnsafeBytes {
                    ordlog_curl_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, $0.baseAddress)
                }
            }
            if request.method != "POST" {
                _ = request.method.withCString { ordlog_curl_easy_setopt_pointer(easy, CURLOPT_CUSTOMREQUEST, $0) }
            }
            sendsBody = true
        }

        var list: UnsafeMutablePointer<curl_slist>?
        var named = (accept: false, contentType: false, expect: false)
        for (name, value) in request.headers {
            if name.utf8.count == 4, name.lowercased() == "host" { continue }
            switch name.lowercased() {
            case "accept": named.accept = true
            case "content-type": named.contentType = true
            case "expect": named.expect = true
            default: break
            }
            // "Name;" is curl's spelling of a header with an empty value ("Name:" would remove it).
            list = curl_slist_append(list, value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        // A header named without a value removes curl's default of that name.
        if !named.expect { list = curl_slist_append(list, "Expect:") }
        if !named.accept { list = curl_slist_append(list, "Accept:") }
        if sendsBody, !named.contentType { list = curl_slist_append(list, "Content-Type:") }
        transfer.headerList = list
        _ = ordlog_curl_easy_setopt_pointer(easy, CURLOPT_HTTPHEADER, list)

        active[ObjectIdentifier(transfer)] = transfer
        let added = curl_multi_add_handle(multi, easy)
        if added != CURLM_OK {
            complete(
                transfer,
                .failure(
                    AWSTransportError(
                        endpoint: request.url, reason: String(cString: curl_multi_strerror(added)))))
        }
    }

    /// Detaches `transfer` from the multi handle, recycles its easy handle and resumes its caller.
    private func complete(_ transfer: CurlTransfer, _ result: Result<HTTPResponse, any Error>) {
        guard active.removeValue(forKey: ObjectIdentifier(transfer)) != nil else { return }
        if let handle = transfer.handle {
            if let multi { curl_multi_remove_handle(multi, handle.easy) }
            // Reset clears the options; the connection stays in the multi handle's cache for the next request.
            curl_easy_reset(handle.easy)
            idle.append(handle)
        }
        transfer.handle = nil
        curl_slist_free_all(transfer.headerList)
        transfer.headerList = nil
        transfer.finish(result)
    }
}

/// CURLOPT_WRITEFUNCTION: appends a piece of the response body.
private let curlWriteCallback: ordlog_curl_data_callback = { data, size, count, user in
    let n = size * count
    guard let data, let user, n > 0 else { return n }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
    transfer.body.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: n)
    return n
}

/// CURLOPT_HEADERFUNCTION: one header line (with its CRLF) per call, including each status line; a status line
/// (a new response, e.g. after a 1xx) starts the header set afresh.
private let curlHeaderCallback: ordlog_curl_data_callback = { data, size, count, user in
    let n = size * count
    guard let data, let user, n > 0 else { return n }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
    let line = UnsafeRawBufferPointer(start: data, count: n)
    if n >= 5, line[0] == UInt8(ascii: "H"), line[1] == UInt8(ascii: "T"), line[2] == UInt8(ascii: "T"),
        line[3] == UInt8(ascii: "P"), line[4] == UInt8(ascii: "/")
    {
        transfer.headers.removeAll()
        return n
    }
    guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return n }
    func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
    var start = colon + 1
    var end = n
    while start < end, isSpace(line[start]) { start += 1 }
    while end > start, isSpace(line[end - 1]) { end -= 1 }
    let name = String(decoding: line[..<colon], as: UTF8.self)
    let value = String(decoding: line[start..<end], as: UTF8.self)
    if let existing = transfer.headers[name] {
        transfer.headers[name] = existing + ", " + value
    } else {
        transfer.headers[name] = value
    }
    return n
}
