#!/usr/bin/env python3
"""A loopback latency model of SQS, DynamoDB and S3 for the consume benchmark (Python stdlib only).

It is a MODEL, not an emulator: it answers the AWS JSON 1.0 protocol (SQS, DynamoDB) and S3's REST/XML protocol
from memory after a fixed delay so that consumers can be compared on how they overlap calls, not on how fast a
real service or moto is. It never checks SigV4 (any signed or unsigned request is accepted). moto stays the
peer for correctness; moto costs ~25 ms of CPU per call, which would hide any concurrency.

Latencies (every figure is a parameter; these are the defaults and where they come from):
  SQS, DynamoDB  --latency-ms 10 per call: the benchmark's long-standing round figure for an in-region call
                 (README "consume" section); not a measurement of AWS.
  S3             --s3-latency-ms 25 per call, plus the call's body bytes (request or response) at
                 --s3-mb-per-s 85. The 25 ms is an ASSUMPTION inside the range AWS documents: "smaller requests
                 (for example, less than 512 KB), where median latencies are often in the range of tens of
                 milliseconds" (Best Practices Design Patterns: Optimizing Amazon S3 Performance, "Timeouts and
                 Retries for Latency-Sensitive Applications",
                 https://docs.aws.amazon.com/whitepapers/latest/s3-optimizing-performance-best-practices/timeouts-and-retries-for-latency-sensitive-applications.html),
                 i.e. PutObject of a small object at ~20-30 ms p50 in-region. The same 25 ms serves every S3
                 operation (HEAD, GET, List, Delete are no cheaper here: an assumption). The 85 MB/s per connection
                 is an ASSUMPTION taken from AWS's S3 performance guidance of about one concurrent request per
                 85-90 MB/s of desired throughput (not re-checked for this model); it only matters for large
                 bodies (a sealed segment of a few MB adds tens of ms). No tail latency, no jitter: a model.
Responses on one connection leave in request order whatever their delays (clients here never pipeline).

Implemented (one queue `OrderQueue` with redrive to `OrderDLQ` at maxReceiveCount 3, one table):
  AmazonSQS.  GetQueueUrl, GetQueueAttributes, ReceiveMessage (visibility timeouts, long polls, receive counts,
              MD5OfBody, Attributes ApproximateReceiveCount / ApproximateFirstReceiveTimestamp / SentTimestamp /
              SenderId; a message whose receive count would pass 3 moves to the DLQ instead), DeleteMessage,
              DeleteMessageBatch, ChangeMessageVisibility, ChangeMessageVisibilityBatch, SendMessage(Batch)
  DynamoDB_20120810.  PutItem (no condition, or `attribute_not_exists(K) OR #n <= :v` / `... OR a <= :v` with
              ReturnValuesOnConditionCheckFailure), GetItem, Scan (one page), DescribeTable, CreateTable
  S3 (REST, path-style http://HOST:PORT/BUCKET/KEY, as ordlog's S3Client and boto3 with path addressing send it;
              buckets from --bucket exist at start and after each reset, others only after CreateBucket):
              PutObject (If-None-Match: * -> 412 PreconditionFailed when the key exists, If-Match; Content-MD5,
              x-amz-checksum-sha256 and a hex x-amz-content-sha256 checked against the bytes -> 400 BadDigest /
              XAmzContentSHA256Mismatch; returns ETag = MD5 hex and echoes the checksum), HeadObject (size, ETag,
              Last-Modified; x-amz-checksum-sha256 only with x-amz-checksum-mode: ENABLED and only if the PUT sent
              one; 404 without a body), GetObject (404 NoSuchKey), ListObjectsV2 (list-type=2: prefix, delimiter,
              start-after, max-keys <= 1000, continuation-token / NextContinuationToken, UTF-8 binary order),
              DeleteObject (204, also for a missing key), DeleteObjects (POST ?delete, <Delete><Object><Key>,
              <Quiet>; needs Content-MD5 or an x-amz-checksum-* header as S3 does, else 400 InvalidRequest; at most
              1000 keys), CreateBucket, HeadBucket, DeleteBucket, and multipart (CreateMultipartUpload, UploadPart,
              CompleteMultipartUpload: 5 MiB minimum part, ETag = MD5 of the parts' MD5s + "-N", composite SHA-256;
              AbortMultipartUpload). Errors are S3's XML <Error><Code>…</Code><Message>…</Message>…</Error>.
              Wire shapes: S3 API Reference (docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html,
              API_HeadObject, API_ListObjectsV2, API_DeleteObject, API_DeleteObjects, API_CompleteMultipartUpload)
              and docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html.
Faults, drawn per AWS call before it is applied: --throttle-rate (HTTP 400: SQS RequestThrottled with
x-amzn-query-error, DynamoDB ProvisionedThroughputExceededException or ThrottlingException) and --error-rate
(HTTP 500 InternalFailure; half of them after the call was applied, as when a response is lost, so that a
retried PutItem or delete really happens twice at the service). S3 calls draw from the same rates: 503 SlowDown
for a throttle, 500 InternalError, half after applying (so a retried If-None-Match PUT meets its own object: 412).

Control endpoints (no delay, no faults): POST /_model/reset, POST /_model/load (JSON Lines as
gen_traffic.py writes them: MessageId, Body, Attributes; one queue entry per line, so a line repeating an
earlier MessageId is a duplicate delivery as SQS makes them), POST /_model/config ({"latency_ms", "throttle_rate",
"error_rate", "s3_latency_ms", "s3_mb_per_s"}), GET /_model/stats (counts and the checks below; "s3": S3 calls by
operation, faults, objects_written, bytes_written, objects_deleted, precondition_failed, objects_left (written
since the reset and still there), objects_left_bytes, manifests_left, objects_stored per bucket). A reset empties
S3 too (the --bucket buckets come back empty).

Checks reported by /_model/stats (what "nothing lost or applied twice" means here):
  lost            entries neither deleted, nor in the DLQ, nor hidden by a lost ReceiveMessage response (must be 0
                  once drained)
  hidden_by_lost_receive
                  entries handed out by a ReceiveMessage whose response was lost (a 500 after applying): as on SQS
                  they stay invisible until their visibility timeout (30 s) and then come back; not an error of
                  the consumer, but a run that stops at its first empty receive leaves them for the next run
  wrong_items     orders whose item is older than an event whose message was deleted (a processed event was
                  overwritten or never written), or matches no loaded event, or is missing
  non_idempotent  successful PutItems that replaced an item with an equal instant but different content, or any
                  write that replaced a newer instant (the condition should make both impossible)
  reapplied       successful PutItems of an event already applied, onto an identical item: idempotent re-applies
                  (redeliveries, retries after a 500 that had applied); reported, not an error
"""
import argparse, asyncio, base64, hashlib, heapq, json, random, re, sys, time, urllib.parse

ACCOUNT = "123456789012"
REGION = "us-east-1"
QUEUE, DLQ = "OrderQueue", "OrderDLQ"
MAX_RECEIVE = 3
DEFAULT_VISIBILITY = 30
SENDER = "AIDAIT2UOQQY3AUEKVGXU"
PAD = "Zm9vYmFyYmF6cXV4" * 10  # receipt handles of a realistic size (~190 bytes)


def order_of(body):
    """(orderId, instant_ns, order dict) of an SNS-envelope or raw body, or None."""
    try:
        o = json.loads(body)
        if isinstance(o, dict) and o.get("Type") == "Notification" and isinstance(o.get("Message"), str):
            o = json.loads(o["Message"])
        if not isinstance(o, dict) or not isinstance(o.get("orderId"), str):
            return None
        return o["orderId"], instant_ns(o.get("timestamp", "")), o
    except (ValueError, TypeError):
        return None


TS = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")


def instant_ns(ts):
    m = TS.match(ts or "")
    if not m:
        return None
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or ".")[1:]
    ns = int((frac + "000000000")[:9]) if frac else 0
    # days from civil
    y2 = y - (1 if mo <= 2 else 0)
    era = (y2 if y2 >= 0 else y2 - 399) // 400
    yoe = y2 - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    secs = days * 86400 + h * 3600 + mi * 60 + s
    z = m.group(8)
    if z not in ("Z", "z"):
        sign = 1 if z[0] == "+" else -1
        secs -= sign * (int(z[1:3]) * 3600 + int(z[4:6]) * 60)
    return secs * 1_000_000_000 + ns


class Entry:
    __slots__ = ("idx", "message_id", "body_json", "md5", "sent_ms", "receives", "first_receive_ms", "version",
                 "state", "visible_at", "handle", "lost_response")

    def __init__(self, idx, message_id, body, sent_ms):
        self.idx = idx
        self.message_id = message_id
        self.body_json = json.dumps(body, ensure_ascii=False)
        self.md5 = hashlib.md5(body.encode("utf-8")).hexdigest()
        self.sent_ms = sent_ms
        self.receives = 0
        self.first_receive_ms = None
        self.version = 0
        self.state = "ready"  # ready | inflight | deleted | dlq
        self.visible_at = 0.0
        self.handle = None
        self.lost_response = False  # last received by a ReceiveMessage whose response was lost (500 after apply)


class Model:
    def __init__(self, latency_ms, throttle_rate, error_rate, seed, s3_latency_ms=25.0, s3_mb_per_s=85.0,
                 buckets=()):
        self.latency = latency_ms / 1000.0
        self.s3_latency = s3_latency_ms / 1000.0
        self.s3_bytes_per_s = s3_mb_per_s * 1e6
        self.throttle_rate = throttle_rate
        self.error_rate = error_rate
        self.rng = random.Random(seed)
        self.s3 = S3State(buckets)
        self.reset()

    def s3_delay(self, nbytes):
        """An S3 call's modelled time: a fixed part plus its bytes (request or response body) at a per-connection
        rate."""
        return self.s3_latency + (nbytes / self.s3_bytes_per_s if self.s3_bytes_per_s > 0 else 0.0)

    def reset(self):
        self.entries = []
        self.ready = []  # a stack would reorder; keep FIFO-ish with an index
        self.ready_head = 0
        self.inflight = []  # heap of (visible_at, idx, version)
        self.by_handle = {}
        self.items = {}  # orderId -> (item dict as sent, instant)
        self.applied_events = {}  # (orderId, instant, canonical item) -> successful puts
        self.entry_order = []  # idx -> orderId or None
        self.calls = {}
        self.faults = {}
        self.c = dict(deleted=0, dlq=0, stale_delete_handles=0, invalid_handles=0, puts_new=0, puts_replaced=0,
                      puts_condition_failed=0, reapplied=0, non_idempotent=0, sent=0)
        self.first_receive_t = None
        self.drained_t = None
        self.remaining = 0
        self.cpu_at_reset = time.process_time()
        self.s3.reset()

    # --- queue -------------------------------------------------------------------------------------------
    def add(self, message_id, body, sent_ms):
        e = Entry(len(self.entries), message_id, body, sent_ms)
        self.entries.append(e)
        self.ready.append(e.idx)
        self.remaining += 1
        self.entry_order.append(order_of(body))
        return e

    def refresh(self, now):
        while self.inflight and self.inflight[0][0] <= now:
            _, idx, version = heapq.heappop(self.inflight)
            e = self.entries[idx]
            if e.state == "inflight" and e.version == version:
                e.state = "ready"
                self.ready.append(idx)

    def visible_count(self):
        return len(self.ready) - self.ready_head

    def take(self, n, visibility, now):
        out = []
        while len(out) < n and self.ready_head < len(self.ready):
            idx = self.ready[self.ready_head]
            self.ready_head += 1
            e = self.entries[idx]
            if e.state != "ready":
                continue
            if e.receives >= MAX_RECEIVE:
                e.state = "dlq"
                self.c["dlq"] += 1
                self.finish_one(now)
                continue
            e.receives += 1
            e.version += 1
            e.lost_response = False
            if e.first_receive_ms is None:
                e.first_receive_ms = int(now * 1000)
            if e.handle:
                self.by_handle.pop(e.handle, None)
            e.handle = "AQEB%d-%d-%s" % (e.idx, e.receives, PAD)
            self.by_handle[e.handle] = e
            e.state = "inflight"
            e.visible_at = now + visibility
            heapq.heappush(self.inflight, (e.visible_at, e.idx, e.version))
            out.append(e)
        if self.ready_head > 4096 and self.ready_head * 2 > len(self.ready):
            self.ready = self.ready[self.ready_head:]
            self.ready_head = 0
        return out

    def finish_one(self, now):
        self.remaining -= 1
        if self.remaining == 0:
            self.drained_t = now

    def entry_for_handle(self, handle):
        e = self.by_handle.get(handle)
        if e is not None:
            return e
        m = re.match(r"^AQEB(\d+)-(\d+)-", handle or "")
        if m and int(m.group(1)) < len(self.entries):
            return self.entries[int(m.group(1))]
        return None

    def delete(self, handle, now):
        """SQS semantics: the newest handle deletes; an older handle of a live message 'succeeds' but deletes
        nothing; a handle of a deleted message succeeds (idempotent). Returns an error code or None."""
        e = self.entry_for_handle(handle)
        if e is None:
            self.c["invalid_handles"] += 1
            return "ReceiptHandleIsInvalid"
        if e.state in ("deleted", "dlq"):
            return None
        if e.handle != handle:
            self.c["stale_delete_handles"] += 1
            return None
        e.state = "deleted"
        e.version += 1
        self.by_handle.pop(handle, None)
        self.c["deleted"] += 1
        self.finish_one(now)
        return None

    def change_visibility(self, handle, seconds, now):
        e = self.entry_for_handle(handle)
        if e is None or e.handle != handle:
            return "ReceiptHandleIsInvalid"
        if e.state != "inflight":
            return "MessageNotInflight"
        e.version += 1
        if seconds <= 0:
            e.state = "ready"
            self.ready.append(e.idx)
        else:
            e.visible_at = now + seconds
            heapq.heappush(self.inflight, (e.visible_at, e.idx, e.version))
        return None

    def message_json(self, e):
        attrs = ('{"ApproximateFirstReceiveTimestamp":"%d","ApproximateReceiveCount":"%d","SenderId":"%s",'
                 '"SentTimestamp":"%d"}' % (e.first_receive_ms, e.receives, SENDER, e.sent_ms))
        return ('{"Attributes":%s,"Body":%s,"MD5OfBody":"%s","MessageId":%s,"ReceiptHandle":"%s"}'
                % (attrs, e.body_json, e.md5, json.dumps(e.message_id), e.handle))

    # --- table -------------------------------------------------------------------------------------------
    def put_item(self, req):
        item = req.get("Item") or {}
        key = item.get("orderId", {}).get("S")
        if key is None:
            return 400, "ValidationException", "One of the required keys was not given a value", None
        cond = req.get("ConditionExpression")
        names = req.get("ExpressionAttributeNames") or {}
        values = req.get("ExpressionAttributeValues") or {}
        new_instant = num(item.get("ordlogTimestampNs"))
        cur = self.items.get(key)
        if cond:
            m = re.match(r"^\s*attribute_not_exists\(\s*(\S+?)\s*\)\s+OR\s+(\S+)\s*<=\s*(:\w+)\s*$", cond)
            if not m:
                return 400, "ValidationException", "the model supports only attribute_not_exists(K) OR a <= :v", None
            attr = names.get(m.group(2), m.group(2))
            bound = num(values.get(m.group(3)))
            ok = cur is None or (num(cur[0].get(attr)) is not None and bound is not None
                                 and num(cur[0].get(attr)) <= bound)
            if not ok:
                self.c["puts_condition_failed"] += 1
                extra = {"Item": cur[0]} if req.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" else {}
                return 400, "ConditionalCheckFailedException", "The conditional request failed", extra
        canon = json.dumps(item, sort_keys=True)
        event = (key, canon)
        if cur is not None:
            cur_instant = num(cur[0].get("ordlogTimestampNs"))
            if new_instant is not None and cur_instant is not None and new_instant < cur_instant:
                self.c["non_idempotent"] += 1  # a newer version was overwritten
            elif new_instant == cur_instant and cur[1] != canon:
                self.c["non_idempotent"] += 1
        if event in self.applied_events:
            self.applied_events[event] += 1
            self.c["reapplied"] += 1
        else:
            self.applied_events[event] = 1
        self.c["puts_new" if cur is None else "puts_replaced"] += 1
        self.items[key] = (item, canon)
        return 200, None, None, {}

    # --- checks ------------------------------------------------------------------------------------------
    def stats(self):
        now = time.monotonic()
        hidden = sum(1 for e in self.entries if e.state == "inflight" and e.lost_response)
        lost = sum(1 for e in self.entries if e.state not in ("deleted", "dlq")) - hidden
        # An order is wrong when its item is older than an event whose message was deleted (a processed event
        # was overwritten or never written), or when the item matches no loaded event with its instant.
        newest_deleted = {}
        events = {}
        for e, o in zip(self.entries, self.entry_order):
            if o is None or o[1] is None:
                continue
            events.setdefault((o[0], o[1]), o[2])
            if e.state == "deleted" and o[1] > newest_deleted.get(o[0], -1):
                newest_deleted[o[0]] = o[1]
        wrong = 0
        missing = 0
        for oid, instant in newest_deleted.items():
            cur = self.items.get(oid)
            if cur is None:
                missing += 1
                continue
            it = cur[0]
            have = num(it.get("ordlogTimestampNs"))
            order = events.get((oid, have))
            if (have is None or have < instant or order is None or it.get("status", {}).get("S") != order.get("status")
                    or it.get("timestamp", {}).get("S") != order.get("timestamp")):
                wrong += 1
        drain = None
        if self.first_receive_t is not None and self.drained_t is not None:
            drain = self.drained_t - self.first_receive_t
        return {
            "entries": len(self.entries), "orders": len(newest_deleted), "visible": self.visible_count(),
            "hidden_by_lost_receive": hidden,
            "inflight": sum(1 for e in self.entries if e.state == "inflight"),
            "lost": lost, "wrong_items": wrong + missing, "missing_items": missing, "items": len(self.items),
            "drain_seconds": drain, "calls": dict(self.calls), "faults": dict(self.faults),
            "total_calls": sum(self.calls.values()), **self.c,
            "config": {"latency_ms": self.latency * 1000, "s3_latency_ms": self.s3_latency * 1000,
                       "s3_mb_per_s": self.s3_bytes_per_s / 1e6, "throttle_rate": self.throttle_rate,
                       "error_rate": self.error_rate},
            "s3": self.s3.stats(),
            "now": now,
            # the model's own CPU since the reset, and per AWS call: 1 / this is what one core can serve
            "model_cpu_s": round(time.process_time() - self.cpu_at_reset, 3),
            "model_cpu_ms_per_call": round((time.process_time() - self.cpu_at_reset) * 1000
                                           / max(1, sum(self.calls.values()) + sum(self.s3.calls.values())), 3),
        }


def num(v):
    if isinstance(v, dict) and "N" in v:
        try:
            return int(v["N"])
        except ValueError:
            return None
    return None


def aws_error(status, code, message, service, extra=None):
    if service == "sqs":
        body = {"__type": "com.amazonaws.sqs#" + code, "message": message}
        headers = [("x-amzn-query-error", "%s;%s" % (code, "Sender" if status < 500 else "Receiver"))]
    else:
        body = {"__type": "com.amazonaws.dynamodb.v20120810#" + code, "message": message}
        headers = []
    if extra:
        body.update(extra)
    return status, json.dumps(body), headers


# --- S3 (REST/XML, path-style) -----------------------------------------------------------------------------------
# What ordlog's S3Client (Sources/OrdlogAWS/S3Client.swift) sends with an endpoint URL configured: path-style
# `http://ENDPOINT/BUCKET/KEY`, SigV4 with the payload hash in x-amz-content-sha256 (never checked here, as for the
# other services; the hash itself is compared with the body, as S3 does). Wire shapes from the S3 API Reference
# (docs.aws.amazon.com/AmazonS3/latest/API/API_<Operation>.html) and the user guide on conditional writes
# (docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
MIN_PART = 5 << 20  # S3: every part but the last is at least 5 MiB (EntityTooSmall)


def xml_text(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;"))


def http_date(t):
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(t))


def iso_ms(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


class S3Object:
    __slots__ = ("data", "etag", "sha256_b64", "modified", "content_type")

    def __init__(self, data, etag, sha256_b64, content_type):
        self.data = data
        self.etag = etag  # without quotes
        self.sha256_b64 = sha256_b64  # as stored when the PUT carried x-amz-checksum-sha256, else None
        self.modified = time.time()
        self.content_type = content_type


class S3State:
    """Buckets and objects in memory; counters since the last /_model/reset (which empties everything and
    re-creates the --bucket buckets)."""

    def __init__(self, buckets):
        self.initial_buckets = list(buckets)
        self.reset()

    def reset(self):
        self.buckets = {b: {} for b in self.initial_buckets}  # name -> {key: S3Object}
        self.uploads = {}  # upload id -> (bucket, key, {part: (bytes, md5 hex, sha256 raw or None)}, content type)
        self.calls = {}
        self.faults = {}
        self.c = dict(objects_written=0, bytes_written=0, objects_deleted=0, precondition_failed=0,
                      bad_digest=0, bytes_read=0)
        self.written = set()  # (bucket, key) written since the reset

    def stats(self):
        left = [bk for bk in self.written if bk[1] in self.buckets.get(bk[0], {})]
        return {"calls": dict(self.calls), "total_calls": sum(self.calls.values()), "faults": dict(self.faults),
                **self.c,
                "objects_left": len(left),
                "objects_left_bytes": sum(len(self.buckets[b][k].data) for b, k in left),
                "manifests_left": sum(1 for _, k in left if k.endswith(".manifest.json")),
                "objects_stored": {b: len(o) for b, o in self.buckets.items()},
                "open_multipart_uploads": len(self.uploads)}


def s3_error(status, code, message, **fields):
    body = "<Error><Code>%s</Code><Message>%s</Message>" % (code, xml_text(message))
    for k, v in fields.items():
        body += "<%s>%s</%s>" % (k, xml_text(v), k)
    body += "<RequestId>%016X</RequestId><HostId>model</HostId></Error>" % random.getrandbits(64)
    return status, (XML_HEAD + body).encode("utf-8"), []


def s3_operation(method, bucket, key, q):
    """The S3 operation name of a path-style request (for counting and faults)."""
    if not bucket:
        return "ListBuckets" if method == "GET" else "Unknown"
    if key is None:
        return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket",
                "GET": "ListObjectsV2" if q.get("list-type") == "2" else "ListObjects",
                "POST": "DeleteObjects" if "delete" in q else "Unknown"}.get(method, "Unknown")
    if method == "PUT":
        return "UploadPart" if "uploadId" in q else "PutObject"
    if method == "POST":
        return "CreateMultipartUpload" if "uploads" in q else ("CompleteMultipartUpload" if "uploadId" in q
                                                               else "Unknown")
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in q else "DeleteObject"
    return {"GET": "GetObject", "HEAD": "HeadObject"}.get(method, "Unknown")


def s3_handle(s3, op, method, bucket, key, q, headers, body):
    """Applies one S3 request. Returns (status, body bytes, extra headers). For HEAD the body is b"" and a
    ("Content-Length", n) header says the object's size."""
    objects = s3.buckets.get(bucket)
    if op == "CreateBucket":
        s3.buckets.setdefault(bucket, {})  # us-east-1: creating your own existing bucket again succeeds
        return 200, b"", [("Location", "/" + bucket)]
    if objects is None:
        if method == "HEAD":
            return 404, b"", []
        return s3_error(404, "NoSuchBucket", "The specified bucket does not exist", BucketName=bucket)
    if op == "HeadBucket":
        return 200, b"", [("x-amz-bucket-region", REGION)]
    if op == "DeleteBucket":
        if objects:
            return s3_error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty", BucketName=bucket)
        del s3.buckets[bucket]
        return 204, b"", []
    if op == "ListObjectsV2":
        return s3_list_v2(bucket, objects, q)
    if op == "DeleteObjects":
        return s3_delete_objects(s3, bucket, objects, headers, body)
    if op == "PutObject":
        cur = objects.get(key)
        if headers.get("if-none-match", "").strip() == "*" and cur is not None:
            s3.c["precondition_failed"] += 1
            return s3_error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                            Condition="If-None-Match")
        if "if-match" in headers:
            if cur is None:
                return s3_error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
            if headers["if-match"].strip().strip('"') != cur.etag:
                s3.c["precondition_failed"] += 1
                return s3_error(412, "PreconditionFailed",
                                "At least one of the pre-conditions you specified did not hold", Condition="If-Match")
        bad = s3_check_digests(s3, headers, body)
        if bad:
            return bad
        sha = headers.get("x-amz-checksum-sha256")
        o = S3Object(bytes(body), hashlib.md5(body).hexdigest(), sha,
                     headers.get("content-type", "binary/octet-stream"))
        objects[key] = o
        s3.c["objects_written"] += 1
        s3.c["bytes_written"] += len(body)
        s3.written.add((bucket, key))
        extra = [("ETag", '"%s"' % o.etag)]
        if sha:
            extra.append(("x-amz-checksum-sha256", sha))
        return 200, b"", extra
    if op in ("GetObject", "HeadObject"):
        o = objects.get(key)
        if o is None:
            if method == "HEAD":
                return 404, b"", []
            return s3_error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        extra = [("ETag", '"%s"' % o.etag), ("Last-Modified", http_date(o.modified)), ("Accept-Ranges", "bytes"),
                 ("Content-Type", o.content_type)]
        # S3 returns the checksum only when asked (x-amz-checksum-mode: ENABLED) and only if one was stored.
        if o.sha256_b64 and headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
            extra.append(("x-amz-checksum-sha256", o.sha256_b64))
        if method == "HEAD":
            return 200, b"", extra + [("Content-Length", str(len(o.data)))]
        s3.c["bytes_read"] += len(o.data)
        return 200, o.data, extra
    if op == "DeleteObject":
        if objects.pop(key, None) is not None:  # a missing key is a success too (204)
            s3.c["objects_deleted"] += 1
        return 204, b"", []
    if op == "CreateMultipartUpload":
        uid = "model-upload-%016x" % random.getrandbits(64)
        s3.uploads[uid] = (bucket, key, {}, headers.get("content-type", "binary/octet-stream"))
        return 200, (XML_HEAD + '<InitiateMultipartUploadResult xmlns="%s"><Bucket>%s</Bucket><Key>%s</Key>'
                     '<UploadId>%s</UploadId></InitiateMultipartUploadResult>'
                     % (S3_NS, xml_text(bucket), xml_text(key), uid)).encode(), []
    if op == "UploadPart":
        up = s3.uploads.get(q.get("uploadId"))
        if up is None or up[0] != bucket or up[1] != key:
            return s3_error(404, "NoSuchUpload", "The specified upload does not exist.", UploadId=q.get("uploadId"))
        bad = s3_check_digests(s3, headers, body)
        if bad:
            return bad
        n = int(q.get("partNumber", "0") or 0)
        if not 1 <= n <= 10000:
            return s3_error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000")
        md5 = hashlib.md5(body).hexdigest()
        up[2][n] = (bytes(body), md5, hashlib.sha256(body).digest() if headers.get("x-amz-checksum-sha256") else None)
        extra = [("ETag", '"%s"' % md5)]
        if headers.get("x-amz-checksum-sha256"):
            extra.append(("x-amz-checksum-sha256", headers["x-amz-checksum-sha256"]))
        return 200, b"", extra
    if op == "AbortMultipartUpload":
        if s3.uploads.pop(q.get("uploadId"), None) is None:
            return s3_error(404, "NoSuchUpload", "The specified upload does not exist.", UploadId=q.get("uploadId"))
        return 204, b"", []
    if op == "CompleteMultipartUpload":
        return s3_complete(s3, bucket, key, objects, q, headers, body)
    return s3_error(501, "NotImplemented", "the model does not implement %s %s" % (method, op))


def s3_check_digests(s3, headers, body):
    """What S3 checks of an upload's bytes: x-amz-content-sha256 (the signed payload hash, when not UNSIGNED-PAYLOAD
    or streaming), Content-MD5 and x-amz-checksum-sha256."""
    signed = headers.get("x-amz-content-sha256", "")
    if re.fullmatch(r"[0-9a-f]{64}", signed) and hashlib.sha256(body).hexdigest() != signed:
        s3.c["bad_digest"] += 1
        return s3_error(400, "XAmzContentSHA256Mismatch",
                        "The provided 'x-amz-content-sha256' header does not match what was computed.")
    if "content-md5" in headers and base64.b64encode(hashlib.md5(body).digest()).decode() != headers["content-md5"]:
        s3.c["bad_digest"] += 1
        return s3_error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
    sha = headers.get("x-amz-checksum-sha256")
    if sha and base64.b64encode(hashlib.sha256(body).digest()).decode() != sha:
        s3.c["bad_digest"] += 1
        return s3_error(400, "BadDigest", "The SHA256 you specified did not match the calculated checksum.")
    return None


def s3_list_v2(bucket, objects, q):
    prefix = q.get("prefix", "")
    delimiter = q.get("delimiter", "")
    try:
        max_keys = max(0, min(1000, int(q.get("max-keys", "1000"))))
    except ValueError:
        return s3_error(400, "InvalidArgument", "Provided max-keys not an integer or within integer range")
    token = q.get("continuation-token")
    after = q.get("start-after", "")
    if token is not None:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return s3_error(400, "InvalidArgument", "The continuation token provided is incorrect")
    # S3 lists keys in UTF-8 binary order.
    keys = sorted((k for k in objects if k.startswith(prefix) and k.encode() > after.encode()), key=str.encode)
    contents, prefixes, last = [], [], None
    for k in keys:
        if len(contents) + len(prefixes) >= max_keys:
            break
        if delimiter:
            i = k.find(delimiter, len(prefix))
            if i >= 0:
                cp = k[:i + len(delimiter)]
                if cp not in prefixes:
                    prefixes.append(cp)
                last = k
                continue
        contents.append(k)
        last = k
    rest = [k for k in keys if last is not None and k.encode() > last.encode()]
    if delimiter and prefixes:
        rest = [k for k in rest if not any(k.startswith(p) for p in prefixes)]
    truncated = bool(rest) and max_keys > 0
    out = [XML_HEAD, '<ListBucketResult xmlns="%s"><Name>%s</Name><Prefix>%s</Prefix>'
           % (S3_NS, xml_text(bucket), xml_text(prefix))]
    if token is not None:
        out.append("<ContinuationToken>%s</ContinuationToken>" % xml_text(token))
    if q.get("start-after"):
        out.append("<StartAfter>%s</StartAfter>" % xml_text(q["start-after"]))
    out.append("<KeyCount>%d</KeyCount><MaxKeys>%d</MaxKeys>" % (len(contents) + len(prefixes), max_keys))
    if delimiter:
        out.append("<Delimiter>%s</Delimiter>" % xml_text(delimiter))
    out.append("<IsTruncated>%s</IsTruncated>" % ("true" if truncated else "false"))
    if truncated:
        out.append("<NextContinuationToken>%s</NextContinuationToken>"
                   % base64.urlsafe_b64encode(last.encode()).decode())
    for k in contents:
        o = objects[k]
        out.append("<Contents><Key>%s</Key><LastModified>%s</LastModified><ETag>&quot;%s&quot;</ETag>"
                   "<Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>"
                   % (xml_text(k), iso_ms(o.modified), o.etag, len(o.data)))
    for p in prefixes:
        out.append("<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>" % xml_text(p))
    out.append("</ListBucketResult>")
    return 200, "".join(out).encode("utf-8"), [("Content-Type", "application/xml")]


def parse_xml(body):
    import xml.etree.ElementTree as ET
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    for el in root.iter():  # drop the namespace: <{ns}Key> -> Key
        if "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


def s3_delete_objects(s3, bucket, objects, headers, body):
    # S3 requires an integrity header on DeleteObjects: Content-MD5, or a flexible checksum (x-amz-checksum-<alg>,
    # x-amz-sdk-checksum-algorithm); without one it answers 400 InvalidRequest.
    if "content-md5" not in headers and "x-amz-sdk-checksum-algorithm" not in headers \
            and not any(h.startswith("x-amz-checksum-") and h != "x-amz-checksum-mode" for h in headers):
        return s3_error(400, "InvalidRequest", "Missing required header for this request: Content-MD5")
    bad = s3_check_digests(s3, headers, body)
    if bad:
        return bad
    root = parse_xml(body)
    if root is None or root.tag != "Delete":
        return s3_error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against "
                                             "our published schema")
    keys = [o.findtext("Key") for o in root.findall("Object")]
    if not keys or len(keys) > 1000 or any(k is None for k in keys):
        return s3_error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against "
                                             "our published schema")
    quiet = (root.findtext("Quiet") or "").strip().lower() == "true"
    out = [XML_HEAD, '<DeleteResult xmlns="%s">' % S3_NS]
    for k in keys:
        if objects.pop(k, None) is not None:
            s3.c["objects_deleted"] += 1
        if not quiet:  # quiet mode lists only the keys that failed; a missing key is deleted, not failed
            out.append("<Deleted><Key>%s</Key></Deleted>" % xml_text(k))
    out.append("</DeleteResult>")
    return 200, "".join(out).encode("utf-8"), [("Content-Type", "application/xml")]


def s3_complete(s3, bucket, key, objects, q, headers, body):
    uid = q.get("uploadId")
    up = s3.uploads.get(uid)
    if up is None or up[0] != bucket or up[1] != key:
        return s3_error(404, "NoSuchUpload", "The specified upload does not exist.", UploadId=uid)
    root = parse_xml(body)
    if root is None or root.tag != "CompleteMultipartUpload":
        return s3_error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against "
                                             "our published schema")
    listed = []
    for p in root.findall("Part"):
        try:
            listed.append((int(p.findtext("PartNumber") or ""), (p.findtext("ETag") or "").strip().strip('"')))
        except ValueError:
            return s3_error(400, "MalformedXML", "bad PartNumber")
    if not listed or [n for n, _ in listed] != sorted(set(n for n, _ in listed)):
        return s3_error(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
    parts = up[2]
    for i, (n, etag) in enumerate(listed):
        if n not in parts or parts[n][1] != etag:
            return s3_error(400, "InvalidPart", "One or more of the specified parts could not be found.")
        if i < len(listed) - 1 and len(parts[n][0]) < MIN_PART:
            return s3_error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
    if headers.get("if-none-match", "").strip() == "*" and key in objects:
        s3.c["precondition_failed"] += 1
        return s3_error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                        Condition="If-None-Match")
    data = b"".join(parts[n][0] for n, _ in listed)
    # A multipart object's ETag is the MD5 of the parts' binary MD5s, then "-" and the part count; its SHA-256
    # checksum is the composite one (SHA-256 of the parts' SHA-256s, "-N"), not the whole object's.
    etag = hashlib.md5(b"".join(bytes.fromhex(parts[n][1]) for n, _ in listed)).hexdigest() + "-%d" % len(listed)
    sha = None
    if all(parts[n][2] for n, _ in listed):
        sha = base64.b64encode(hashlib.sha256(b"".join(parts[n][2] for n, _ in listed)).digest()).decode() \
            + "-%d" % len(listed)
    objects[key] = S3Object(data, etag, sha, up[3])
    del s3.uploads[uid]
    s3.c["objects_written"] += 1
    s3.c["bytes_written"] += len(data)
    s3.written.add((bucket, key))
    return 200, (XML_HEAD + '<CompleteMultipartUploadResult xmlns="%s"><Location>/%s/%s</Location><Bucket>%s</Bucket>'
                 '<Key>%s</Key><ETag>&quot;%s&quot;</ETag></CompleteMultipartUploadResult>'
                 % (S3_NS, xml_text(bucket), xml_text(key), xml_text(bucket), xml_text(key), etag)).encode(), \
        [("Content-Type", "application/xml")]


class Server:
    def __init__(self, model, host, port):
        self.m = model
        self.host, self.port = host, port

    def queue_url(self, name):
        return "http://%s:%d/%s/%s" % (self.host, self.port, ACCOUNT, name)

    # Returns (status, body_text, extra_headers, apply_fn or None). Faults are decided by the caller.
    def handle_aws(self, target, req, now):
        m = self.m
        service, _, op = target.partition(".")
        svc = "sqs" if service == "AmazonSQS" else "dynamodb"
        if svc == "sqs":
            if op == "GetQueueUrl":
                name = req.get("QueueName")
                if name not in (QUEUE, DLQ):
                    return aws_error(400, "QueueDoesNotExist", "The specified queue does not exist.", svc)
                return 200, json.dumps({"QueueUrl": self.queue_url(name)}), []
            if op == "GetQueueAttributes":
                arn = "arn:aws:sqs:%s:%s:" % (REGION, ACCOUNT)
                m.refresh(now)
                attrs = {"QueueArn": arn + QUEUE, "VisibilityTimeout": str(DEFAULT_VISIBILITY),
                         "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn + DLQ,
                                                      "maxReceiveCount": MAX_RECEIVE}),
                         "ApproximateNumberOfMessages": str(m.visible_count()),
                         "ApproximateNumberOfMessagesNotVisible": str(len(m.inflight))}
                if req.get("QueueUrl", "").endswith("/" + DLQ):
                    attrs = {"QueueArn": arn + DLQ, "ApproximateNumberOfMessages": str(m.c["dlq"])}
                names = req.get("AttributeNames") or ["All"]
                if "All" not in names:
                    attrs = {k: v for k, v in attrs.items() if k in names}
                return 200, json.dumps({"Attributes": attrs}), []
            if op == "ReceiveMessage":
                return None  # handled asynchronously (long poll)
            if op == "DeleteMessage":
                err = m.delete(req.get("ReceiptHandle"), now)
                if err:
                    return aws_error(400, err, "The input receipt handle is invalid.", svc)
                return 200, "{}", []
            if op == "DeleteMessageBatch":
                ok, failed = [], []
                for entry in req.get("Entries") or []:
                    err = m.delete(entry.get("ReceiptHandle"), now)
                    if err:
                        failed.append({"Id": entry.get("Id"), "SenderFault": True, "Code": err,
                                       "Message": "The input receipt handle is invalid."})
                    else:
                        ok.append({"Id": entry.get("Id")})
                return 200, json.dumps({"Successful": ok, "Failed": failed}), []
            if op == "ChangeMessageVisibility":
                err = m.change_visibility(req.get("ReceiptHandle"), int(req.get("VisibilityTimeout", 0)), now)
                if err:
                    return aws_error(400, err, "cannot change visibility", svc)
                return 200, "{}", []
            if op == "ChangeMessageVisibilityBatch":
                ok, failed = [], []
                for entry in req.get("Entries") or []:
                    err = m.change_visibility(entry.get("ReceiptHandle"), int(entry.get("VisibilityTimeout", 0)),
                                              now)
                    if err:
                        failed.append({"Id": entry.get("Id"), "SenderFault": True, "Code": err, "Message": err})
                    else:
                        ok.append({"Id": entry.get("Id")})
                return 200, json.dumps({"Successful": ok, "Failed": failed}), []
            if op in ("SendMessage", "SendMessageBatch"):
                entries = [req] if op == "SendMessage" else (req.get("Entries") or [])
                ok = []
                for entry in entries:
                    mid = "m-%d-%d" % (len(m.entries), m.rng.getrandbits(32))
                    body = entry.get("MessageBody", "")
                    m.add(mid, body, int(time.time() * 1000))
                    m.c["sent"] += 1
                    ok.append({"Id": entry.get("Id"), "MessageId": mid,
                               "MD5OfMessageBody": hashlib.md5(body.encode()).hexdigest()})
                if op == "SendMessage":
                    return 200, json.dumps({"MessageId": ok[0]["MessageId"],
                                            "MD5OfMessageBody": ok[0]["MD5OfMessageBody"]}), []
                return 200, json.dumps({"Successful": ok, "Failed": []}), []
            return aws_error(400, "InvalidAction", "the model does not implement " + op, svc)
        # DynamoDB
        if op == "PutItem":
            status, code, message, extra = m.put_item(req)
            if status != 200:
                return aws_error(status, code, message, svc, extra)
            return 200, "{}", []
        if op == "GetItem":
            key = ((req.get("Key") or {}).get("orderId") or {}).get("S")
            cur = m.items.get(key)
            return 200, json.dumps({"Item": cur[0]} if cur else {}), []
        if op == "Scan":
            return 200, json.dumps({"Items": [v[0] for v in m.items.values()], "Count": len(m.items),
                                    "ScannedCount": len(m.items)}), []
        if op in ("DescribeTable", "CreateTable"):
            name = req.get("TableName", "Orders")
            desc = {"TableName": name, "TableStatus": "ACTIVE", "ItemCount": len(m.items),
                    "TableArn": "arn:aws:dynamodb:%s:%s:table/%s" % (REGION, ACCOUNT, name),
                    "KeySchema": [{"AttributeName": "orderId", "KeyType": "HASH"}]}
            return 200, json.dumps({"Table" if op == "DescribeTable" else "TableDescription": desc}), []
        return aws_error(400, "UnknownOperationException", "the model does not implement " + op, svc)


class Conn(asyncio.Protocol):
    def __init__(self, server):
        self.s = server
        self.buf = bytearray()
        self.head = None  # (method, path, headers, content length) of a request whose body is still arriving
        self.next_write = 0.0
        self.t = None
        self.closed = False
        self.pending = 0  # responses scheduled, written in order (all share one delay)

    def connection_made(self, transport):
        self.t = transport

    def connection_lost(self, exc):
        self.closed = True

    def write_later(self, delay, data):
        loop = asyncio.get_running_loop()
        if delay <= 0:
            self.write(data)
        else:
            loop.call_later(delay, self.write, data)

    def write(self, data):
        if not self.closed:
            self.t.write(data)

    def data_received(self, data):
        self.buf += data
        while True:
            if self.head is None:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.buf) > 65536:
                        self.t.close()
                    return
                lines = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
                try:
                    method, path, _ = lines[0].split(" ", 2)
                except ValueError:
                    self.t.close()
                    return
                headers = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
                del self.buf[:end + 4]
                self.head = (method, path, headers, int(headers.get("content-length", "0") or 0))
                if headers.get("expect", "").lower() == "100-continue":
                    # Always the interim 100, even for an empty body already here: botocore keeps a final status
                    # read in place of the 100 on the connection and misparses the next response on it.
                    self.t.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            method, path, headers, length = self.head
            if len(self.buf) < length:
                return
            body = bytes(self.buf[:length])
            del self.buf[:length]
            self.head = None
            self.request(method, path, headers, body)

    def respond(self, status, text, extra=(), delay=0.0, content_type="application/x-amz-json-1.0",
                request_id_header="x-amzn-RequestId", content_length=None):
        reason = {200: "OK", 204: "No Content", 400: "Bad Request", 404: "Not Found", 409: "Conflict",
                  412: "Precondition Failed", 500: "Internal Server Error", 501: "Not Implemented",
                  503: "Slow Down"}.get(status, "X")
        payload = text.encode("utf-8") if isinstance(text, str) else text
        head = "HTTP/1.1 %d %s\r\n%s: %08x\r\n" % (status, reason, request_id_header, random.getrandbits(32))
        if content_type and not any(k.lower() == "content-type" for k, _ in extra):
            head += "Content-Type: %s\r\n" % content_type
        if status != 204:  # a 204 carries no Content-Length (RFC 9110 8.6)
            head += "Content-Length: %d\r\n" % (len(payload) if content_length is None else content_length)
        for k, v in extra:
            head += "%s: %s\r\n" % (k, v)
        # responses on one connection leave in request order, whatever their delays
        now = time.monotonic()
        at = max(now + delay, self.next_write)
        self.next_write = at
        self.write_later(at - now, head.encode("latin-1") + b"\r\n" + payload)

    def request(self, method, path, headers, body):
        s, m = self.s, self.s.m
        if path.startswith("/_model/"):
            return self.control(method, path, body)
        target = headers.get("x-amz-target", "")
        if not target:
            return self.s3_request(method, path, headers, body)
        try:
            req = json.loads(body) if body else {}
        except ValueError:
            return self.respond(400, json.dumps({"__type": "SerializationException", "message": "bad JSON"}))
        now = time.monotonic()
        op = target.partition(".")[2]
        svc = "sqs" if target.startswith("AmazonSQS") else "dynamodb"
        m.calls[op] = m.calls.get(op, 0) + 1
        r = m.rng.random()
        after = False
        if r < m.throttle_rate:
            m.faults[op + ":throttle"] = m.faults.get(op + ":throttle", 0) + 1
            if svc == "sqs":
                st, txt, ex = aws_error(400, "RequestThrottled", "Rate exceeded", svc)
            else:
                code = "ProvisionedThroughputExceededException" if m.rng.random() < 0.5 else "ThrottlingException"
                st, txt, ex = aws_error(400, code, "Rate exceeded", svc)
            return self.respond(st, txt, ex, m.latency)
        if r < m.throttle_rate + m.error_rate:
            m.faults[op + ":500"] = m.faults.get(op + ":500", 0) + 1
            after = m.rng.random() < 0.5
            if not after:
                st, txt, ex = aws_error(500, "InternalFailure", "We encountered an internal error.", svc)
                return self.respond(st, txt, ex, m.latency)
        if op == "ReceiveMessage" and svc == "sqs":
            return self.receive(req, now, after)
        res = s.handle_aws(target, req, now)
        if after:  # applied, but the response is lost: the client sees a 500
            st, txt, ex = aws_error(500, "InternalFailure", "We encountered an internal error.", svc)
            return self.respond(st, txt, ex, m.latency)
        self.respond(res[0], res[1], res[2], m.latency)

    def s3_request(self, method, path, headers, body):
        m = self.s.m
        s3 = m.s3
        raw_path, _, raw_query = path.partition("?")
        q = {k: v[0] for k, v in urllib.parse.parse_qs(raw_query, keep_blank_values=True).items()}
        bucket, sep, key = urllib.parse.unquote(raw_path.lstrip("/")).partition("/")
        key = key if sep and key else None
        op = s3_operation(method, bucket, key, q)
        s3.calls[op] = s3.calls.get(op, 0) + 1
        head = method == "HEAD"

        def send(status, payload, extra, nbytes):
            ct = None if head or status == 204 else "application/xml"
            cl = None
            for k, v in extra:
                if k == "Content-Length":
                    cl = int(v)
            extra = [(k, v) for k, v in extra if k != "Content-Length"]
            self.respond(status, b"" if head else payload, extra, m.s3_delay(nbytes), content_type=ct,
                         request_id_header="x-amz-request-id", content_length=cl)

        r = m.rng.random()
        after = False
        if r < m.throttle_rate:
            s3.faults[op + ":throttle"] = s3.faults.get(op + ":throttle", 0) + 1
            st, txt, ex = s3_error(503, "SlowDown", "Please reduce your request rate.")
            return send(st, txt, ex, 0)
        if r < m.throttle_rate + m.error_rate:
            s3.faults[op + ":500"] = s3.faults.get(op + ":500", 0) + 1
            after = m.rng.random() < 0.5
            if not after:
                st, txt, ex = s3_error(500, "InternalError", "We encountered an internal error. Please try again.")
                return send(st, txt, ex, 0)
        status, payload, extra = s3_handle(s3, op, method, bucket, key, q, headers, body)
        if after:  # applied, but the response is lost: the client sees a 500 (a retried If-None-Match PUT gets 412)
            st, txt, ex = s3_error(500, "InternalError", "We encountered an internal error. Please try again.")
            return send(st, txt, ex, len(body))
        send(status, payload, extra, len(body) + len(payload))

    def receive(self, req, now, fault_after):
        m = self.s.m
        n = max(1, min(10, int(req.get("MaxNumberOfMessages", 1))))
        wait = req.get("WaitTimeSeconds")
        wait = 0 if wait is None else max(0, min(20, int(wait)))
        vis = req.get("VisibilityTimeout")
        vis = DEFAULT_VISIBILITY if vis is None else int(vis)
        is_dlq = req.get("QueueUrl", "").endswith("/" + DLQ)
        deadline = now + wait
        loop = asyncio.get_running_loop()
        start = now

        def attempt():
            t = time.monotonic()
            got = []
            if not is_dlq:
                m.refresh(t)
                got = m.take(n, vis, t)
            if got or t >= deadline or self.closed:
                if got and m.first_receive_t is None:
                    m.first_receive_t = start
                if fault_after:
                    for e in got:
                        e.lost_response = True  # hidden until the visibility timeout, as SQS does
                    st, txt, ex = aws_error(500, "InternalFailure", "We encountered an internal error.", "sqs")
                    return self.respond(st, txt, ex, max(0.0, m.latency - (t - start)))
                body = '{"Messages":[%s]}' % ",".join(m.message_json(e) for e in got) if got else "{}"
                # the fixed latency counts from the request; a long poll that waited already spent it
                self.respond(200, body, (), max(0.0, m.latency - (t - start)))
            else:
                loop.call_later(0.01, attempt)

        attempt()

    def control(self, method, path, body):
        m = self.s.m
        if path == "/_model/reset":
            m.reset()
            return self.respond(200, "{}", content_type="application/json")
        if path == "/_model/load":
            n = 0
            for line in body.decode("utf-8").splitlines():
                if not line.strip():
                    continue
                o = json.loads(line)
                sent = int((o.get("Attributes") or {}).get("SentTimestamp", "0") or 0)
                m.add(o["MessageId"], o["Body"], sent)
                n += 1
            return self.respond(200, json.dumps({"loaded": n, "entries": len(m.entries)}),
                                content_type="application/json")
        if path == "/_model/config":
            o = json.loads(body or b"{}")
            if "latency_ms" in o:
                m.latency = float(o["latency_ms"]) / 1000.0
            if "s3_latency_ms" in o:
                m.s3_latency = float(o["s3_latency_ms"]) / 1000.0
            if "s3_mb_per_s" in o:
                m.s3_bytes_per_s = float(o["s3_mb_per_s"]) * 1e6
            if "throttle_rate" in o:
                m.throttle_rate = float(o["throttle_rate"])
            if "error_rate" in o:
                m.error_rate = float(o["error_rate"])
            return self.respond(200, "{}", content_type="application/json")
        if path == "/_model/stats":
            return self.respond(200, json.dumps(m.stats()), content_type="application/json")
        return self.respond(404, "{}", content_type="application/json")


async def main_async(a):
    model = Model(a.latency_ms, a.throttle_rate, a.error_rate, a.seed, a.s3_latency_ms, a.s3_mb_per_s, a.bucket)
    loop = asyncio.get_running_loop()
    server = Server(model, a.host, a.port)
    srv = await loop.create_server(lambda: Conn(server), a.host, a.port, backlog=512, reuse_address=True)
    port = srv.sockets[0].getsockname()[1]
    server.port = port
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.replace(a.port_file + ".tmp", a.port_file)
    print("aws_model listening on http://%s:%d (latency %.1f ms; S3 %.1f ms + bytes at %.0f MB/s; throttle %.3f, "
          "500s %.3f; buckets %s)" % (a.host, port, a.latency_ms, a.s3_latency_ms, a.s3_mb_per_s, a.throttle_rate,
                                     a.error_rate, ",".join(a.bucket) or "none"), file=sys.stderr, flush=True)
    async with srv:
        await srv.serve_forever()


def main():
    p = argparse.ArgumentParser(description="Loopback latency model of SQS + DynamoDB (AWS JSON 1.0) + S3 (REST).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = a free port (written to --port-file)")
    p.add_argument("--port-file")
    p.add_argument("--latency-ms", type=float, default=10.0)
    p.add_argument("--s3-latency-ms", type=float, default=25.0,
                   help="fixed time of every S3 call (see the docstring for where 25 ms comes from)")
    p.add_argument("--s3-mb-per-s", type=float, default=85.0,
                   help="plus the call's bytes at this rate (MB/s per connection; 0 = no size term)")
    p.add_argument("--bucket", action="append", default=[],
                   help="an S3 bucket that exists from the start and after every /_model/reset (repeatable)")
    p.add_argument("--throttle-rate", type=float, default=0.0)
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if not a.host.startswith("127.") and a.host not in ("localhost", "::1"):
        p.error("the model listens on loopback only")
    try:
        asyncio.run(main_async(a))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
