#!/usr/bin/env python3
"""Deterministic, realistic SQS traffic for the ordlog benchmark (Python stdlib only).

Writes JSON Lines: one SQS message per line, as ReceiveMessage returns it (PascalCase: MessageId,
ReceiptHandle, MD5OfBody = md5(Body), Body, Attributes with SenderId, ApproximateFirstReceiveTimestamp,
ApproximateReceiveCount, SentTimestamp). Each Body is an SNS envelope (RawMessageDelivery=false) laid
out as AWS lays it out: pretty-printed, `"Key" : value`, AWS key order, SignatureVersion 1 with a
full-size 344-character base64 Signature (a 2048-bit RSA signature), so a Body is about 1.1 KB.

Traffic shape:
  - about 5 messages per order, walking PENDING -> PAID -> PACKED -> SHIPPED -> DELIVERED, with orders
    interleaved (a window of open orders, each event picks one at random);
  - 1% redeliveries: an earlier message again, same SQS MessageId and body, a new receipt handle,
    ApproximateReceiveCount 2 (ordlog decides `duplicate`);
  - non-ASCII item names (accents, CJK, Cyrillic, emoji), written as UTF-8, not \\u escapes.

Same --messages and --seed give the same bytes on every machine (no clock, no locale, no hash seed).

    python3 Benchmarks/gen_traffic.py --messages 100000 --seed 1 --out /tmp/traffic-100k.jsonl
"""
import argparse, base64, hashlib, json, random, sys

TOPIC = "arn:aws:sns:us-east-1:123456789012:OrderTopic"
SUB = TOPIC + ":c9135db0-26c4-47ec-8998-413945fb5a96"
CERT = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-01d088a6f77103d0fe307c0069e40ed6.pem"
UNSUB = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + SUB
SENDER = "AIDAIT2UOQQY3AUEKVGXU"
BASE_MS = 1767261600000  # 2026-01-01T10:00:00Z
LIFECYCLE = ["PENDING", "PAID", "PACKED", "SHIPPED", "DELIVERED"]
ITEMS = [
    "Espresso machine", "Café crème – 東京 🍣", "Grinder", "Milk frother", "Crème brûlée torch 🍮",
    "Müsli-Schüssel (groß)", "Кофемолка ручная", "抹茶ラテ セット", "Jalapeño hot sauce 🌶️", "Smørrebrød board",
    "Tea kettle", "Ceviche bowl – Perú", "Bánh mì press", "Çay bardağı ×6", "Ζεστή σοκολάτα mug",
    "Paper filters 100×", "Pour-over stand", "Dolce & Gabbana apron", "Łódź mug", "Naïve art coaster",
]


def uuid_from(rng):
    h = "%032x" % rng.getrandbits(128)
    return "%s-%s-4%s-%s-%s" % (h[:8], h[8:12], h[13:16], "89ab"[int(h[16], 16) & 3] + h[17:20], h[20:32])


def iso(ms):
    # Pure arithmetic (no time zone database): civil_from_days.
    s, milli = divmod(ms, 1000)
    days, sod = divmod(s, 86400)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (y, m, d, sod // 3600, sod % 3600 // 60, sod % 60, milli)


def envelope(sns_id, message, ts, signature):
    fields = [("Type", "Notification"), ("MessageId", sns_id), ("TopicArn", TOPIC), ("Message", message),
              ("Timestamp", ts), ("SignatureVersion", "1"), ("Signature", signature),
              ("SigningCertURL", CERT), ("UnsubscribeURL", UNSUB)]
    return "{\n" + ",\n".join("  %s : %s" % (json.dumps(k), json.dumps(v, ensure_ascii=False))
                               for k, v in fields) + "\n}"


def generate(n, seed, out):
    rng = random.Random(seed)
    open_orders = []  # [order_id, user, item, quantity, next_status_index]
    next_order = 1
    window = 200
    now_ms = BASE_MS
    sent = []  # (message_id, body, sent_ms) of recent first deliveries, for redeliveries
    written = 0
    redeliveries = 0
    while written < n:
        now_ms += rng.randint(5, 60)
        if sent and rng.random() < 0.01:
            # A standard queue delivers at least once: an earlier message again, receive count 2.
            mid, body, sent_ms = sent[rng.randrange(len(sent))]
            count, first_ms = 2, sent_ms + 120
            redeliveries += 1
        else:
            if len(open_orders) < window:
                open_orders.append(["ord-%08d" % next_order, "user-%d" % rng.randint(1, 50000),
                                    rng.choice(ITEMS), rng.randint(1, 5), 0])
                next_order += 1
            i = rng.randrange(len(open_orders))
            o = open_orders[i]
            status = LIFECYCLE[o[4]]
            o[4] += 1
            if o[4] == len(LIFECYCLE):
                open_orders[i] = open_orders[-1]
                open_orders.pop()
            order = json.dumps({"orderId": o[0], "userId": o[1], "itemName": o[2], "quantity": o[3],
                                "status": status, "timestamp": iso(now_ms - 40)}, ensure_ascii=False)
            sns_id = uuid_from(rng)
            signature = base64.b64encode(rng.getrandbits(2048).to_bytes(256, "big")).decode()
            body = envelope(sns_id, order, iso(now_ms - 40), signature)
            mid = uuid_from(rng)
            sent_ms = now_ms
            count, first_ms = 1, now_ms + rng.randint(20, 300)
            sent.append((mid, body, sent_ms))
            if len(sent) > 1000:
                sent = sent[500:]
        handle = "AQEB" + base64.b64encode(rng.getrandbits(1296).to_bytes(162, "big")).decode()
        msg = {"MessageId": mid, "ReceiptHandle": handle,
               "MD5OfBody": hashlib.md5(body.encode("utf-8")).hexdigest(), "Body": body,
               "Attributes": {"SenderId": SENDER, "ApproximateFirstReceiveTimestamp": str(first_ms),
                              "ApproximateReceiveCount": str(count), "SentTimestamp": str(sent_ms)}}
        out.write(json.dumps(msg, ensure_ascii=False))
        out.write("\n")
        written += 1
    return next_order - 1, redeliveries


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    with open(a.out + ".tmp", "w", encoding="utf-8", newline="\n") as f:
        orders, redeliveries = generate(a.messages, a.seed, f)
    import os
    os.replace(a.out + ".tmp", a.out)
    print("wrote %s: %d messages, %d orders, %d redeliveries" % (a.out, a.messages, orders, redeliveries),
          file=sys.stderr)


if __name__ == "__main__":
    main()
