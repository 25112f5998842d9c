#!/usr/bin/env python3
"""A loopback latency model of SQS and DynamoDB for the consume benchmark (Python stdlib only).

It is a MODEL, not an emulator: it answers the AWS JSON 1.0 protocol from memory after a fixed delay
(--latency-ms, default 10) so that consumers can be compared on how they overlap calls, not on how fast a
real service or moto is. It never checks SigV4 (any signed or unsigned request is accepted). moto stays the
peer for correctness; moto costs ~25 ms of CPU per call, which would hide any concurrency.

Implemented (one queue `OrderQueue` with redrive to `OrderDLQ` at maxReceiveCount 3, one table):
  AmazonSQS.  GetQueueUrl, GetQueueAttributes, ReceiveMessage (visibility timeouts, long polls, receive counts,
              MD5OfBody, Attributes ApproximateReceiveCount / ApproximateFirstReceiveTimestamp / SentTimestamp /
              SenderId; a message whose receive count would pass 3 moves to the DLQ instead), DeleteMessage,
              DeleteMessageBatch, ChangeMessageVisibility, ChangeMessageVisibilityBatch, SendMessage(Batch)
  DynamoDB_20120810.  PutItem (no condition, or `attribute_not_exists(K) OR #n <= :v` / `... OR a <= :v` with
              ReturnValuesOnConditionCheckFailure), GetItem, Scan (one page), DescribeTable, CreateTable
Faults, drawn per AWS call before it is applied: --throttle-rate (HTTP 400: SQS RequestThrottled with
x-amzn-query-error, DynamoDB ProvisionedThroughputExceededException or ThrottlingException) and --error-rate
(HTTP 500 InternalFailure; half of them after the call was applied, as when a response is lost, so that a
retried PutItem or delete really happens twice at the service).

Control endpoints (no delay, no faults): POST /_model/reset, POST /_model/load (JSON Lines as
gen_traffic.py writes them: MessageId, Body, Attributes; one queue entry per line, so a line repeating an
earlier MessageId is a duplicate delivery as SQS makes them), POST /_model/config ({"latency_ms", "throttle_rate",
"error_rate"}), GET /_model/stats (counts and the checks below).

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
import argparse, asyncio, hashlib, heapq, json, random, re, sys, time

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
    def __init__(self, latency_ms, throttle_rate, error_rate, seed):
        self.latency = latency_ms / 1000.0
        self.throttle_rate = throttle_rate
        self.error_rate = error_rate
        self.rng = random.Random(seed)
        self.reset()

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
            "config": {"latency_ms": self.latency * 1000, "throttle_rate": self.throttle_rate,
                       "error_rate": self.error_rate},
            "now": now,
            # the model's own CPU since the reset, and per AWS call: 1 / this is what one core can serve
            "model_cpu_s": round(time.process_time() - self.cpu_at_reset, 3),
            "model_cpu_ms_per_call": round((time.process_time() - self.cpu_at_reset) * 1000
                                           / max(1, sum(self.calls.values())), 3),
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
        self.buf = b""
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
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > 65536:
                    self.t.close()
                return
            head = self.buf[:end].decode("latin-1")
            lines = head.split("\r\n")
            try:
                method, path, _ = lines[0].split(" ", 2)
            except ValueError:
                self.t.close()
                return
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length", "0") or 0)
            if len(self.buf) < end + 4 + length:
                if headers.get("expect", "").lower() == "100-continue" and not getattr(self, "_continued", False):
                    self.t.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    self._continued = True
                return
            self._continued = False
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            self.request(method, path, headers, body)

    def respond(self, status, text, extra=(), delay=0.0, content_type="application/x-amz-json-1.0"):
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}.get(status, "X")
        payload = text.encode("utf-8")
        head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nx-amzn-RequestId: %08x\r\n" % (
            status, reason, content_type, len(payload), random.getrandbits(32))
        for k, v in extra:
            head += "%s: %s\r\n" % (k, v)
        self.write_later(delay, head.encode("latin-1") + b"\r\n" + payload)

    def request(self, method, path, headers, body):
        s, m = self.s, self.s.m
        if path.startswith("/_model/"):
            return self.control(method, path, body)
        target = headers.get("x-amz-target", "")
        if not target:
            return self.respond(404, '{"message":"no X-Amz-Target"}')
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
            if "throttle_rate" in o:
                m.throttle_rate = float(o["throttle_rate"])
            if "error_rate" in o:
                m.error_rate = float(o["error_rate"])
            return self.respond(200, "{}", content_type="application/json")
        if path == "/_model/stats":
            return self.respond(200, json.dumps(m.stats()), content_type="application/json")
        return self.respond(404, "{}", content_type="application/json")


async def main_async(a):
    model = Model(a.latency_ms, a.throttle_rate, a.error_rate, a.seed)
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
    print("aws_model listening on http://%s:%d (latency %.1f ms, throttle %.3f, 500s %.3f)"
          % (a.host, port, a.latency_ms, a.throttle_rate, a.error_rate), file=sys.stderr, flush=True)
    async with srv:
        await srv.serve_forever()


def main():
    p = argparse.ArgumentParser(description="Loopback latency model of SQS + DynamoDB (AWS JSON 1.0).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = a free port (written to --port-file)")
    p.add_argument("--port-file")
    p.add_argument("--latency-ms", type=float, default=10.0)
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
