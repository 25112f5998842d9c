#!/usr/bin/env python3
"""Writes samples/order-traffic.jsonl: a small recorded SQS traffic file, deterministic.

Each line is one SQS message as ReceiveMessage returns it (PascalCase, all system attributes), its
Body an SNS envelope formatted the way AWS formats it ("Key" : value, AWS key order). The traffic shows:
  - ord-2001: a status lifecycle PENDING -> PAID -> SHIPPED -> DELIVERED,
  - a duplicate delivery of the PAID message (same SQS MessageId, new receipt handle, receive count 2),
  - an SNS retry of ord-2002's message (same SNS MessageId, new SQS MessageId),
  - an out-of-order event: ord-2001 SHIPPED delivered again after DELIVERED, as a new publish (stale),
  - a malformed message: a body that is not JSON,
  - a poison message: ord-2004 with quantity "two", received 3 times, dead-lettered on the third.
"""
import hashlib, json, os, sys

TOPIC = "arn:aws:sns:us-east-1:123456789012:OrderTopic"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:OrderQueue"
BASE_MS = 1767261600000  # 2026-01-01T10:00:00Z

def envelope(sns_id, message, ts):
    # AWS's layout: pretty-printed with ' : ' separators, keys in AWS order.
    fields = [("Type", "Notification"), ("MessageId", sns_id), ("TopicArn", TOPIC), ("Message", message),
              ("Timestamp", ts), ("SignatureVersion", "1"),
              ("Signature", "EXAMPLEpH+" + hashlib.sha256(sns_id.encode()).hexdigest() * 4 + "=="),
              ("SigningCertURL", "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"),
              ("UnsubscribeURL", "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + TOPIC + ":c9135db0-26c4-47ec-8998-413945fb5a96")]
    return "{\n" + ",\n".join("  %s : %s" % (json.dumps(k), json.dumps(v, ensure_ascii=False)) for k, v in fields) + "\n}"

def order(oid, status, minute, quantity=1, item="Espresso machine", user="user-17"):
    return json.dumps({"orderId": oid, "userId": user, "itemName": item, "quantity": quantity, "status": status,
                       "timestamp": "2026-01-01T10:%02d:00.000Z" % minute}, ensure_ascii=False)

def iso(ms):
    import datetime
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)

lines = []
def sqs(n, sqs_id, body, sent_offset_s, receive_count=1, first_receive_offset_s=None):
    sent = BASE_MS + sent_offset_s * 1000
    first = sent + 120 if first_receive_offset_s is None else BASE_MS + first_receive_offset_s * 1000
    handle = "AQEB" + hashlib.sha256(("%s/%d/%d" % (sqs_id, receive_count, n)).encode()).hexdigest() * 3
    lines.append({
        "MessageId": sqs_id, "ReceiptHandle": handle,
        "MD5OfBody": hashlib.md5(body.encode("utf-8")).hexdigest(), "Body": body,
        "Attributes": {"SenderId": "AIDAIT2UOQQY3AUEKVGXU", "ApproximateFirstReceiveTimestamp": str(first),
                       "ApproximateReceiveCount": str(receive_count), "SentTimestamp": str(sent)},
    })

def published(sns_id, msg, offset_s):
    return envelope(sns_id, msg, iso(BASE_MS + offset_s * 1000 - 40))

sqs(1, "6f1c2a9e-0001-4c1e-9d8a-000000000001", published("a1b2c3d4-0001-5e6f-8a9b-000000000001", order("ord-2001", "PENDING", 0), 0), 0)
sqs(2, "6f1c2a9e-0002-4c1e-9d8a-000000000002", published("a1b2c3d4-0002-5e6f-8a9b-000000000002", order("ord-2002", "PENDING", 1, 2, "Café crème – 東京 🍣", "user-88"), 60), 60)
paid = published("a1b2c3d4-0003-5e6f-8a9b-000000000003", order("ord-2001", "PAID", 5), 300)
sqs(3, "6f1c2a9e-0003-4c1e-9d8a-000000000003", paid, 300)
# Standard queues deliver at least once: the PAID message again, same SQS MessageId, receive count 2.
sqs(4, "6f1c2a9e-0003-4c1e-9d8a-000000000003", paid, 300, receive_count=2, first_receive_offset_s=300)
# SNS retried its delivery of ord-2002: same SNS MessageId, new SQS MessageId.
sqs(5, "6f1c2a9e-0005-4c1e-9d8a-000000000005", published("a1b2c3d4-0002-5e6f-8a9b-000000000002", order("ord-2002", "PENDING", 1, 2, "Café crème – 東京 🍣", "user-88"), 60), 61)
sqs(6, "6f1c2a9e-0006-4c1e-9d8a-000000000006", published("a1b2c3d4-0006-5e6f-8a9b-000000000006", order("ord-2001", "DELIVERED", 30), 1800), 1800)
# Out of order: SHIPPED (10:20) arrives after DELIVERED (10:30).
sqs(7, "6f1c2a9e-0007-4c1e-9d8a-000000000007", published("a1b2c3d4-0007-5e6f-8a9b-000000000007", order("ord-2001", "SHIPPED", 20), 1200), 1201)
sqs(8, "6f1c2a9e-0008-4c1e-9d8a-000000000008", published("a1b2c3d4-0008-5e6f-8a9b-000000000008", order("ord-2003", "PENDING", 31, 1, "Grinder", "user-23"), 1860), 1860)
# A malformed message: a producer published something that is not JSON.
sqs(9, "6f1c2a9e-0009-4c1e-9d8a-000000000009", published("a1b2c3d4-0009-5e6f-8a9b-000000000009", "orderId=ord-2005;status=PENDING", 1900), 1900)
# A poison message: quantity "two" can never validate; received 3 times, then dead-lettered.
poison = published("a1b2c3d4-0010-5e6f-8a9b-000000000010", order("ord-2004", "PENDING", 32, "two", "Milk frother", "user-51"), 1920)
for rc in (1, 2, 3):
    sqs(9 + rc, "6f1c2a9e-0010-4c1e-9d8a-000000000010", poison, 1920, receive_count=rc, first_receive_offset_s=1920)
sqs(13, "6f1c2a9e-0013-4c1e-9d8a-000000000013", published("a1b2c3d4-0013-5e6f-8a9b-000000000013", order("ord-2003", "PAID", 40, 1, "Grinder", "user-23"), 2400), 2400)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples", "order-traffic.jsonl")
with open(out, "w", encoding="utf-8") as f:
    for m in lines:
        f.write(json.dumps(m, ensure_ascii=False) + "\n")
print("wrote", os.path.normpath(out), len(lines), "messages")
