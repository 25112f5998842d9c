#!/usr/bin/env python3
"""Captures SNS -> SQS traffic and AWS wire exchanges from moto for ordlog's test fixtures.

Runs moto 5.2.1 in this process (moto.server.ThreadedMotoServer on 127.0.0.1), builds the pipeline with boto3
(topic OrderTopic; queue OrderQueue with RedrivePolicy maxReceiveCount 3 -> OrderDLQ; OrderQueueRaw subscribed
with RawMessageDelivery=true, for comparison; table Orders), publishes seven orders, receives them the way ordlog
does and writes, under --out (default Tests/Fixtures/moto-captured):

  published.json                                 what was published (label, SNS MessageId, Message, Subject)
  messages/<label>.sqs-message.json              each message as ReceiveMessage returned it (SNS envelope)
  messages-raw-delivery/<label>.sqs-message.json the same publishes through the raw-delivery subscription
  receive-message-response.OrderQueue.json       the whole first ReceiveMessage response (receive count 1)
  receive-message-response.OrderDLQ.json         the same messages read from the DLQ after 3 receives (count 4)
  receive-message-response.OrderQueueRaw.json    the raw-delivery queue's response
  wire/<service>-<Operation>.<case>.json         full HTTP exchanges as botocore sent and received them

Deterministic where moto allows: moto's random source is seeded (ids, receipt handles, request ids), one fake
clock drives moto and botocore (SentTimestamp, SNS Timestamp, X-Amz-Date; it starts at --start and advances 1 ms
per reading), botocore's invocation ids are seeded, Python's str hashing is fixed (PYTHONHASHSEED=0), the HTTP Date header is fixed, and SNS signs with a fixed
throwaway RSA key below (moto generates a new one per message). Rerunning with the same --port and the same
moto/boto3/Python versions writes the same bytes. What still varies: the port (part of queue URLs and of the
signed Host header) unless --port is given, and the User-Agent / Server headers, which name the installed
versions and the kernel (they are not signed).

Usage: python3 scripts/capture-moto.py [--out DIR] [--port N] [--seed N] [--start 2026-01-01T12:00:00]
Needs: pip install 'moto[server]==5.2.1' boto3 (scripts/install-deps.sh installs them).
"""
import argparse
import datetime
import json
import logging
import os
import random
import shutil
import socket
import sys
import threading
import uuid

FIXED_SNS_KEY = """\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCpGHKi0THn7I4K
Nzp48iR+qodP/5G/mlnHyXpTCng629e2w8TMc9ixpTM2HJQ6QWBZSSjUfx6i47Cy
SffFSyaT1lui+ZdAXp9LsGs/6zPLDOViw8n2/8KD2K+XJXKqd3qKc/tzc9SsOHFS
7kss84Os+/hm8LwB3ojJGTxR1pOXw3vAjhGBCyrJX+TDBYPStJvCVSZFhYD2fDmU
pUvNDBUmKepQ5hidX2VtkDGIWprGu5BLYTwRPKbkjMev446YJXdTkSJjJvceb1xJ
DB4E2iSZYBAFJG9Dkp5XHRFWfegY6uzkcHcyTdRFx3HdFAcIliQGdEBi55wP99RZ
OX9iONFvAgMBAAECggEAFvecnnPGkQdG1alhtkrBXTkBTwLaA4nN9v5tMHlEEk6I
8qiNgu2bOanEFm30TiNSGF6A/rfTa/F8LwMv9aq67yqW4MCA5DvV7BxmvNRQARzb
zTnlpThg7bKRSvjJpdC7orGVLj3F3ax+6/I04MKkmGrS9vxstN5KevIECOOZwWuR
zsD5EPbKX96vakaDvQO0CLlgpyl1u35h8p6l8gXDWn5gKrNfP2JA6mRRpCKKw2zM
X+b9mzQmcqsblTMjtKzgOWUunpXKLJxjauSH9wn43G6W7/Ccfrxk+6cYESfKCuHg
pYHYJtxvHhEDYiyBMnuoLfhiVDZfqYE/Shg5TorEfQKBgQDRJ1wLoZffpHhkP7cU
wVCAxZ6hCGYi4xdcRA53eTEnoQjmC8kUzyX1TDpf9dspoGOt6LPh90cm8wt/YKH+
pidK6GUW1i6F09Ns0aj8WVRNKLERlpE8FiAzftZrmjgbqp6ZHpOMF/u5RIbO/Y1F
mv3aN1W+Qhm9ogQ9HBmV7Ugp8wKBgQDO+DF+/niluyQAzw9kr13zFfr/6PSbCD8a
+XXelvVyhiEDFrHjalRKXX4jWbFxWh9ZeLXoVrvywVxKeNmSXctb4L4Kb41sD2Ri
3nKB5XIWPRdK+UPMMfrNMy57vWX9IS7DD1fNRgvvBIb7j6ajjDLoT8zlPnL280DF
ocRfzsC9lQKBgGonrvkcUEgrYwuGpza6k1B4fPXAnI5ScnXa+Pi8oy0495pDGxEb
vmlNAkfYMh9jj5QiCsLCzfM/4nMJKc9kp4bGgyBfHwe/poyRsVI7SKVM5OpHYHl9
xWQ9mTjN8nJgW9TdhwfQ2GuFE2MVn9FXREawVS2WwRfVlo8ppvbIkxrvAoGBAINd
myTs5azjrEVrJ20TtgD9mZPmy6K/SDaZ0cuXa3DmW3u3Yu9iZN/SmaZcXrkAp9dF
O8idjKvXOPn33Lj/GX1Wl6jOByhoWKI8aNezx4b//ZHTxsmLi5HFA6L8owhYkHK0
gVlENXzfFcID+pPh/8neJMH4skW2Pg1y0M6yzzlFAoGAMzm0sqtZolqwAXjUsfOS
3qw551ZD/g3+ip8faopgqrKtnEc9mlcFgHJaecd4YefwBnoltzb5gawsVzg3uMmI
7bJsYv3x418TXezMjY1VF/E/vnFNBtZA8JZDWFOTI5Pj2MyPSy2Vu6lT5DVrELEr
4RgxXbvwqFgfPyrjBAEYd3w=
-----END PRIVATE KEY-----"""

ORDER = '{{"orderId": "{id}", "userId": "{user}", "itemName": "{item}", "quantity": {qty}, "status": "{status}", "timestamp": "2025-01-15T10:30:00.000Z"}}'
WIDGET = ORDER.format(id="ord-1001", user="user-42", item="Widget", qty=3, status="PENDING")
PUBLISHES = [
    ("01-normal", WIDGET, None, None),
    ("02-non-ascii-item",
     ORDER.format(id="ord-1002", user="user-7", item='Café crème – 東京 🍣 \\"quoted\\"', qty=1, status="PENDING"),
     None, None),
    ("03-quantity-as-string",
     ORDER.format(id="ord-1003", user="user-8", item="Gadget", qty='"2"', status="PENDING"), None, None),
    ("04-missing-orderId",
     '{"userId": "user-9", "itemName": "Gizmo", "quantity": 5, "status": "PENDING", '
     '"timestamp": "2025-01-15T10:30:00.000Z"}', None, None),
    ("05-not-json", "this is not json {orderId: ord-1005", None, None),
    ("06-with-subject-and-attributes",
     ORDER.format(id="ord-1006", user="user-10", item="Sprocket", qty=10, status="SHIPPED"), "Order update",
     {
         "eventType": {"DataType": "String", "StringValue": "OrderUpdated"},
         "priority": {"DataType": "Number", "StringValue": "5"},
         "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01binary"},
         "tags": {"DataType": "String.Array", "StringValue": '["a","b"]'},
     }),
    ("07-duplicate-of-01", WIDGET, None, None),
]
ITEM = {"orderId": {"S": "ord-1001"}, "userId": {"S": "user-42"}, "itemName": {"S": "Widget"},
        "quantity": {"N": "3"}, "status": {"S": "PENDING"}, "timestamp": {"S": "2025-01-15T10:30:00.000Z"}}


class FakeClock:
    """A clock that starts at `start` and advances 1 ms each time it is read."""

    def __init__(self, start):
        self.now = start
        self.lock = threading.Lock()

    def utcnow(self):
        with self.lock:
            self.now += datetime.timedelta(milliseconds=1)
            return self.now


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def patch_for_determinism(seed, clock):
    from cryptography.hazmat.primitives import serialization
    import botocore.auth
    import botocore.endpoint
    import moto.core.utils
    import moto.sns.models
    import moto.sqs.models
    from http.server import BaseHTTPRequestHandler
    from moto.moto_api._internal import mock_random

    mock_random.seed(seed)
    for module in [moto.core.utils, moto.sns.models, moto.sqs.models]:
        if hasattr(module, "utcnow"):
            module.utcnow = clock.utcnow
    # SentTimestamp & co: unix_time(dt=None) reads moto.core.utils.utcnow, patched above.
    botocore.auth.get_current_datetime = lambda remove_tzinfo=True: clock.utcnow()
    ids = random.Random(seed + 1)
    botocore.endpoint.uuid = type("SeededUUID", (), {"uuid4": staticmethod(lambda: uuid.UUID(int=ids.getrandbits(128), version=4))})
    BaseHTTPRequestHandler.date_time_string = lambda self, timestamp=None: "Thu, 01 Jan 2026 12:00:00 GMT"
    key = serialization.load_pem_private_key(FIXED_SNS_KEY.encode(), password=None)
    moto.sns.models.Subscription.private_key = lambda self: key


class Wire:
    """Records botocore's HTTP exchanges: the signed request (before-send) and the response (after-call)."""

    def __init__(self, out):
        self.out = out
        self.name = None
        self.pending = None
        os.makedirs(out, exist_ok=True)

    def attach(self, client, service, protocol):
        def before_send(request, **_):
            if self.name:
                body = request.body
                if isinstance(body, bytes):
                    body = body.decode("utf-8")
                self.pending = {"service": service, "operation": "",
                                "protocol": protocol,
                                "request": {"method": request.method, "url": request.url,
                                            "headers": {k: (v.decode() if isinstance(v, bytes) else v)
                                                        for k, v in request.headers.items()},
                                            "body": body or ""}}
            return None

        def after_call(http_response, model, **_):
            if self.name and self.pending:
                self.pending["operation"] = model.name
                self.pending["response"] = {"status": http_response.status_code,
                                            "headers": dict(http_response.headers),
                                            "body": http_response.content.decode("utf-8")}

        client.meta.events.register("before-send", before_send)
        client.meta.events.register("after-call", after_call)

    def call(self, name, fn, *args, **kwargs):
        """Calls fn recording the exchange as wire/<name>.json; returns the result or the ClientError."""
        from botocore.exceptions import ClientError
        self.name, self.pending = name, None
        try:
            result, error = fn(*args, **kwargs), None
        except ClientError as e:
            result, error = None, e
        capture = self.pending
        self.name, self.pending = None, None
        if error is not None:
            capture["boto3_error"] = error.response.get("Error", {})
        write(os.path.join(self.out, name + ".json"), capture)
        return result if error is None else error


def write(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        # botocore lists the features it used in the User-Agent from a set: fix str hashing so its order is stable.
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, PYTHONHASHSEED="0"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "Tests", "Fixtures", "moto-captured"))
    ap.add_argument("--port", type=int, default=0, help="127.0.0.1 port for moto (default: a free one)")
    ap.add_argument("--seed", type=int, default=20260101)
    ap.add_argument("--start", default="2026-01-01T12:00:00", help="the fake clock's start (UTC)")
    a = ap.parse_args()

    for var, value in [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_CONFIG_FILE", "/nonexistent"),
                       ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")]:
        os.environ[var] = value
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)

    clock = FakeClock(datetime.datetime.fromisoformat(a.start))
    patch_for_determinism(a.seed, clock)
    import boto3
    from botocore.config import Config
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request lines
    port = a.port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        capture(a.out, f"http://127.0.0.1:{port}", boto3, Config)
    finally:
        server.stop()
    print(f"capture-moto: wrote {os.path.normpath(a.out)} (moto on 127.0.0.1:{port}, seed {a.seed})")


def capture(out, endpoint, boto3, Config):
    out = os.path.normpath(out)
    for sub in ["messages", "messages-raw-delivery", "wire"]:
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
        os.makedirs(os.path.join(out, sub))
    config = Config(retries={"total_max_attempts": 1}, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=endpoint, config=config)
    sns = boto3.client("sns", endpoint_url=endpoint, config=config)
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, config=config)
    wire = Wire(os.path.join(out, "wire"))
    wire.attach(sqs, "sqs", "json")
    wire.attach(sns, "sns", "query")
    wire.attach(ddb, "dynamodb", "json")

    # The pipeline, as `ordlog setup` builds it (plus a raw-delivery queue for comparison).
    ddb.create_table(TableName="Orders", AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    topic = sns.create_topic(Name="OrderTopic")["TopicArn"]
    dlq = sqs.create_queue(QueueName="OrderDLQ", Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    queue = sqs.create_queue(QueueName="OrderQueue",
                             Attributes={"VisibilityTimeout": "30", "RedrivePolicy": redrive})["QueueUrl"]
    raw = sqs.create_queue(QueueName="OrderQueueRaw")["QueueUrl"]
    for url, is_raw in [(queue, False), (raw, True)]:
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                      Attributes={"RawMessageDelivery": "true"} if is_raw else {})

    published = []
    for label, message, subject, attributes in PUBLISHES:
        kwargs = {"TopicArn": topic, "Message": message}
        if subject:
            kwargs["Subject"] = subject
        if attributes:
            kwargs["MessageAttributes"] = attributes
        if label == "01-normal":
            result = wire.call("sns-Publish.query-protocol", sns.publish, **kwargs)
        else:
            result = sns.publish(**kwargs)
        published.append({"label": label, "snsMessageId": result["MessageId"], "Message": message,
                          "Subject": subject})
    write(os.path.join(out, "published.json"), published)
    labels = {p["snsMessageId"]: p["label"] for p in published}

    receive = {"MaxNumberOfMessages": 10, "WaitTimeSeconds": 0, "VisibilityTimeout": 0,
               "MessageSystemAttributeNames": ["All"], "MessageAttributeNames": ["All"]}
    # Receive 1 of 3 from OrderQueue, exactly as ordlog consume asks for it.
    first = wire.call("sqs-ReceiveMessage.json-protocol", sqs.receive_message, QueueUrl=queue, **receive)
    raw_first = json.loads(open(os.path.join(out, "wire", "sqs-ReceiveMessage.json-protocol.json"),
                                encoding="utf-8").read())["response"]["body"]
    write(os.path.join(out, "receive-message-response.OrderQueue.json"), json.loads(raw_first))
    assert len(first["Messages"]) == 7, first
    for m in json.loads(raw_first)["Messages"]:
        label = labels[json.loads(m["Body"])["MessageId"]]
        write(os.path.join(out, "messages", label + ".sqs-message.json"), m)
    # Receives 2 and 3; the 4th finds them moved to the DLQ (count >= maxReceiveCount), where they show count 4.
    for _ in range(2):
        assert len(sqs.receive_message(QueueUrl=queue, **receive)["Messages"]) == 7
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, **receive)
    dlq_body = wire_body(wire, "dlq-receive", sqs.receive_message, QueueUrl=dlq, **receive)
    write(os.path.join(out, "receive-message-response.OrderDLQ.json"), dlq_body)

    # Raw delivery: MessageAttributeNames ["All"] makes moto 5.2.1 answer 500 when a Binary attribute is present
    # (it computes the MD5 over a str), so ask for the other attributes by name.
    raw_receive = dict(receive, MessageAttributeNames=["eventType", "priority", "tags"])
    raw_body = wire_body(wire, "raw-receive", sqs.receive_message, QueueUrl=raw, **raw_receive)
    write(os.path.join(out, "receive-message-response.OrderQueueRaw.json"), raw_body)
    by_message = {p["Message"]: p["label"] for p in reversed(published)}
    seen = set()
    for m in raw_body["Messages"]:
        label = by_message[m["Body"]]
        if label in seen:  # 07 is byte-identical to 01: the second one with that body is 07
            label = "07-duplicate-of-01"
        seen.add(label)
        write(os.path.join(out, "messages-raw-delivery", label + ".sqs-message.json"), m)

    # SQS calls ordlog's consumer makes, on a probe queue: visibility, delete (ok, bad handle), batch delete.
    probe = sqs.create_queue(QueueName="ProbeQueue")["QueueUrl"]
    sqs.send_message(QueueUrl=probe, MessageBody="probe")
    handle = sqs.receive_message(QueueUrl=probe, WaitTimeSeconds=0)["Messages"][0]["ReceiptHandle"]
    wire.call("sqs-ChangeMessageVisibility.ok", sqs.change_message_visibility, QueueUrl=probe,
              ReceiptHandle=handle, VisibilityTimeout=0)
    handle = sqs.receive_message(QueueUrl=probe, WaitTimeSeconds=0)["Messages"][0]["ReceiptHandle"]
    wire.call("sqs-DeleteMessage.ok", sqs.delete_message, QueueUrl=probe, ReceiptHandle=handle)
    wire.call("sqs-DeleteMessage.bad-handle", sqs.delete_message, QueueUrl=probe, ReceiptHandle="not-a-real-handle")
    wire.call("sqs-DeleteMessageBatch.partial", sqs.delete_message_batch, QueueUrl=probe,
              Entries=[{"Id": "0", "ReceiptHandle": handle}, {"Id": "1", "ReceiptHandle": "not-a-real-handle"}])
    wire.call("sqs-ReceiveMessage.nonexistent-queue", sqs.receive_message,
              QueueUrl=queue.rsplit("/", 1)[0] + "/NoSuchQueue")

    # DynamoDB PutItem: the conditional write ordlog uses, and the errors a client must decode.
    def item(**changes):
        i = dict(ITEM)
        for k, v in changes.items():
            if v is None:
                i.pop(k)
            else:
                i[k] = v
        return i

    cond = {"ConditionExpression": "attribute_not_exists(orderId)"}
    wire.call("dynamodb-PutItem.ok", ddb.put_item, TableName="Orders", Item=item(), **cond)
    wire.call("dynamodb-PutItem.conditional-check-failed", ddb.put_item, TableName="Orders", Item=item(), **cond,
              ReturnValuesOnConditionCheckFailure="ALL_OLD")
    wire.call("dynamodb-PutItem.N-not-a-number", ddb.put_item, TableName="Orders",
              Item=item(orderId={"S": "ord-x"}, quantity={"N": "two"}))
    wire.call("dynamodb-PutItem.missing-key", ddb.put_item, TableName="Orders", Item=item(orderId=None))
    wire.call("dynamodb-PutItem.empty-string-key", ddb.put_item, TableName="Orders", Item=item(orderId={"S": ""}))
    wire.call("dynamodb-PutItem.key-wrong-type", ddb.put_item, TableName="Orders",
              Item=item(orderId={"N": "1001"}))
    wire.call("dynamodb-PutItem.table-missing", ddb.put_item, TableName="NoSuchTable", Item=item())


def wire_body(wire, name, fn, **kwargs):
    """The raw JSON response body of one call (not botocore's parsed form), without keeping a wire file."""
    wire.call(name, fn, **kwargs)
    path = os.path.join(wire.out, name + ".json")
    body = json.loads(json.load(open(path, encoding="utf-8"))["response"]["body"])
    os.remove(path)
    return body


if __name__ == "__main__":
    sys.exit(main())
