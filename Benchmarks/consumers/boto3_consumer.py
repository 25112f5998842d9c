#!/usr/bin/env python3
"""The consumer a user would write instead of ordlog: boto3, no event log.

Each loop: ReceiveMessage (10, long poll) -> json.loads the SNS envelope -> json.loads the order -> PutItem with
ordlog's condition (`attribute_not_exists(orderId) OR ordlogTimestampNs <= :ts`, so an older event never
overwrites a newer one) -> DeleteMessageBatch of the messages handled (a lost condition is final too).
A message that fails to parse or to write is left for SQS to redeliver. `--threads N` runs N such loops, each
with its own client (boto3 clients are thread-safe, sessions are not). A loop stops at its first empty receive.

    AWS_ENDPOINT_URL=http://127.0.0.1:PORT python3 boto3_consumer.py --queue OrderQueue --table Orders --threads 8
"""
import argparse, json, sys, threading, time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


def instant_ns(ts):
    """RFC 3339 -> ns since the epoch (the same instant ordlog stores as ordlogTimestampNs)."""
    import datetime
    frac = "0"
    main = ts
    zone = "+00:00"
    if ts.endswith(("Z", "z")):
        main = ts[:-1]
    else:
        main, zone = ts[:-6], ts[-6:]
    if "." in main:
        main, frac = main.split(".", 1)
    dt = datetime.datetime.strptime(main + zone, "%Y-%m-%dT%H:%M:%S%z")
    return int(dt.timestamp()) * 1_000_000_000 + int((frac + "000000000")[:9])


def loop(args, url, counts, lock):
    cfg = Config(max_pool_connections=4, retries={"mode": "standard", "max_attempts": 3})
    sqs = boto3.client("sqs", config=cfg)
    ddb = boto3.client("dynamodb", config=cfg)
    while True:
        try:
            r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=args.wait_time,
                                    AttributeNames=["All"], MessageAttributeNames=["All"])
        except (ClientError, BotoCoreError) as e:
            with lock:
                counts["receive_errors"] += 1
            print("receive failed: %s" % e, file=sys.stderr)
            time.sleep(0.5)
            continue
        messages = r.get("Messages", [])
        if not messages:
            return
        done = []
        for m in messages:
            try:
                envelope = json.loads(m["Body"])
                order = json.loads(envelope["Message"]) if envelope.get("Type") == "Notification" else envelope
                ts = instant_ns(order["timestamp"])
                item = {"orderId": {"S": order["orderId"]}, "userId": {"S": order["userId"]},
                        "itemName": {"S": order["itemName"]}, "quantity": {"N": str(int(order["quantity"]))},
                        "status": {"S": order["status"]}, "timestamp": {"S": order["timestamp"]},
                        "ordlogTimestampNs": {"N": str(ts)}}
            except (ValueError, KeyError, TypeError):
                with lock:
                    counts["bad"] += 1
                continue  # left for redelivery, then the DLQ
            try:
                ddb.put_item(TableName=args.table, Item=item,
                             ConditionExpression="attribute_not_exists(orderId) OR #ts <= :ts",
                             ExpressionAttributeNames={"#ts": "ordlogTimestampNs"},
                             ExpressionAttributeValues={":ts": {"N": str(ts)}})
                outcome = "written"
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    outcome = "stale"
                else:
                    with lock:
                        counts["put_errors"] += 1
                    continue
            except BotoCoreError:
                with lock:
                    counts["put_errors"] += 1
                continue
            with lock:
                counts[outcome] += 1
            done.append({"Id": str(len(done)), "ReceiptHandle": m["ReceiptHandle"]})
        if done:
            try:
                res = sqs.delete_message_batch(QueueUrl=url, Entries=done)
                with lock:
                    counts["deleted"] += len(res.get("Successful", []))
            except (ClientError, BotoCoreError) as e:
                with lock:
                    counts["delete_errors"] += 1
                print("delete failed: %s" % e, file=sys.stderr)
        with lock:
            counts["received"] += len(messages)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--queue", default="OrderQueue")
    p.add_argument("--table", default="Orders")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--wait-time", type=int, default=1)
    a = p.parse_args()
    cfg = Config(retries={"mode": "standard", "max_attempts": 3})
    url = boto3.client("sqs", config=cfg).get_queue_url(QueueName=a.queue)["QueueUrl"]
    counts = dict(received=0, written=0, stale=0, bad=0, put_errors=0, deleted=0, receive_errors=0,
                  delete_errors=0)
    lock = threading.Lock()
    threads = [threading.Thread(target=loop, args=(a, url, counts, lock)) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
