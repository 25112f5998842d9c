#!/usr/bin/env python3
"""Checks the S3 part of the latency model (aws_model.py) before its figures are trusted.

1. boto3 (path-style) against the model: PutObject with x-amz-checksum-sha256 and If-None-Match: * (a second put
   of the key is 412 PreconditionFailed), HeadObject (the checksum only with checksum mode), GetObject, 404s,
   ListObjectsV2 pages with continuation tokens and a delimiter, DeleteObject (204, also for a missing key),
   DeleteObjects (verbose and quiet; refused without an integrity header), multipart (ETag "-N"), NoSuchBucket.
2. With --ordlog PATH, ordlog itself: consume 1,000 messages with --archive-every 1s --archive-to s3://…, then
   `ordlog archive` (again: idempotent), `ordlog archive` multipart, `ordlog verify --db s3://…` (with --head),
   and an archive onto a key holding other bytes (must exit 1, never overwrite).

    python3 Benchmarks/check_s3_model.py
    python3 Benchmarks/check_s3_model.py --ordlog .build-release/release/ordlog

Starts its own model on a free loopback port; writes only under --work-dir. Exit 0 when every check held.
"""
import argparse, base64, hashlib, json, os, shutil, subprocess, sys, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
failures = []


T0 = [time.time()]


def check(what, ok, detail=""):
    print("%s %s%s  (%.1f s)" % ("ok  " if ok else "FAIL", what, (": " + str(detail)) if detail and not ok else "",
                                 time.time() - T0[0]), flush=True)
    T0[0] = time.time()
    if not ok:
        failures.append(what)


def boto3_checks(url):
    import boto3
    from botocore.config import Config
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                      aws_secret_access_key="x",
                      config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    code = lambda e: (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
    body = b"segment bytes " * 100
    sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
    r = s3.put_object(Bucket="bench-bucket", Key="p/c1/a.ordlog", Body=body, ChecksumSHA256=sha, IfNoneMatch="*")
    check("PutObject ETag is the MD5 of the bytes", r["ETag"] == '"%s"' % hashlib.md5(body).hexdigest(), r["ETag"])
    check("PutObject echoes x-amz-checksum-sha256", r.get("ChecksumSHA256") == sha)
    try:
        s3.put_object(Bucket="bench-bucket", Key="p/c1/a.ordlog", Body=b"other", IfNoneMatch="*")
        check("If-None-Match: * on an existing key -> 412", False, "succeeded")
    except s3.exceptions.ClientError as e:
        check("If-None-Match: * on an existing key -> 412", code(e) == ("PreconditionFailed", 412), code(e))
    try:
        s3.put_object(Bucket="bench-bucket", Key="p/c1/bad", Body=body, ChecksumSHA256=base64.b64encode(
            b"\0" * 32).decode())
        check("a wrong x-amz-checksum-sha256 -> BadDigest", False, "succeeded")
    except s3.exceptions.ClientError as e:
        check("a wrong x-amz-checksum-sha256 -> BadDigest", code(e) == ("BadDigest", 400), code(e))
    h = s3.head_object(Bucket="bench-bucket", Key="p/c1/a.ordlog", ChecksumMode="ENABLED")
    check("HeadObject size, ETag, checksum", (h["ContentLength"], h["ETag"], h.get("ChecksumSHA256"))
          == (len(body), '"%s"' % hashlib.md5(body).hexdigest(), sha), h)
    h = s3.head_object(Bucket="bench-bucket", Key="p/c1/a.ordlog")
    check("HeadObject without checksum mode has no checksum", h.get("ChecksumSHA256") is None)
    check("GetObject returns the bytes", s3.get_object(Bucket="bench-bucket", Key="p/c1/a.ordlog")["Body"].read()
          == body)
    try:
        s3.head_object(Bucket="bench-bucket", Key="missing")
        check("HeadObject of a missing key -> 404", False, "succeeded")
    except s3.exceptions.ClientError as e:
        check("HeadObject of a missing key -> 404", e.response["ResponseMetadata"]["HTTPStatusCode"] == 404)
    try:
        s3.get_object(Bucket="bench-bucket", Key="missing")
        check("GetObject of a missing key -> NoSuchKey", False, "succeeded")
    except s3.exceptions.ClientError as e:
        check("GetObject of a missing key -> NoSuchKey", code(e) == ("NoSuchKey", 404), code(e))
    for i in range(5):
        s3.put_object(Bucket="bench-bucket", Key="p/c1/%02d.ordlog" % i, Body=b"x" * i)
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket="bench-bucket", Prefix="p/c1/",
                                                              PaginationConfig={"PageSize": 2}))
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    check("ListObjectsV2 pages (continuation tokens), in order", len(pages) == 3 and keys == sorted(keys)
          and len(keys) == 6, keys)
    cp = s3.list_objects_v2(Bucket="bench-bucket", Delimiter="/").get("CommonPrefixes")
    check("ListObjectsV2 delimiter -> CommonPrefixes", cp == [{"Prefix": "p/"}], cp)
    check("DeleteObject -> 204", s3.delete_object(Bucket="bench-bucket", Key="p/c1/00.ordlog")
          ["ResponseMetadata"]["HTTPStatusCode"] == 204)
    check("DeleteObject of a missing key -> 204", s3.delete_object(Bucket="bench-bucket", Key="missing")
          ["ResponseMetadata"]["HTTPStatusCode"] == 204)
    r = s3.delete_objects(Bucket="bench-bucket", Delete={"Objects": [{"Key": "p/c1/01.ordlog"},
                                                                     {"Key": "missing"}]})
    check("DeleteObjects lists every key as deleted", sorted(d["Key"] for d in r.get("Deleted", []))
          == ["missing", "p/c1/01.ordlog"] and not r.get("Errors"), r)
    r = s3.delete_objects(Bucket="bench-bucket", Delete={"Objects": [{"Key": "p/c1/02.ordlog"}], "Quiet": True})
    check("DeleteObjects quiet lists nothing", not r.get("Deleted") and not r.get("Errors"), r)
    req = urllib.request.Request(url + "/bench-bucket?delete", method="POST",
                                 data=b"<Delete><Object><Key>x</Key></Object></Delete>")
    try:
        urllib.request.urlopen(req)
        check("DeleteObjects without Content-MD5 or checksum -> 400", False, "succeeded")
    except urllib.error.HTTPError as e:
        check("DeleteObjects without Content-MD5 or checksum -> 400", e.code == 400, e.code)
    left = [o["Key"] for o in s3.list_objects_v2(Bucket="bench-bucket", Prefix="p/").get("Contents", [])]
    check("what is left", left == ["p/c1/03.ordlog", "p/c1/04.ordlog", "p/c1/a.ordlog"], left)
    big = b"a" * (5 << 20) + b"b" * 1000
    u = s3.create_multipart_upload(Bucket="bench-bucket", Key="mp", ChecksumAlgorithm="SHA256")["UploadId"]
    parts = [s3.upload_part(Bucket="bench-bucket", Key="mp", UploadId=u, PartNumber=n, Body=b,
                            ChecksumAlgorithm="SHA256") for n, b in ((1, big[:5 << 20]), (2, big[5 << 20:]))]
    r = s3.complete_multipart_upload(Bucket="bench-bucket", Key="mp", UploadId=u, MultipartUpload={"Parts": [
        {"PartNumber": n + 1, "ETag": p["ETag"], "ChecksumSHA256": p["ChecksumSHA256"]}
        for n, p in enumerate(parts)]})
    want = hashlib.md5(hashlib.md5(big[:5 << 20]).digest() + hashlib.md5(big[5 << 20:]).digest()).hexdigest()
    check("multipart ETag = MD5 of the part MD5s + -2", r["ETag"] == '"%s-2"' % want, r["ETag"])
    check("multipart object size", s3.head_object(Bucket="bench-bucket", Key="mp")["ContentLength"] == len(big))
    try:
        s3.list_objects_v2(Bucket="no-such-bucket")
        check("an unknown bucket -> NoSuchBucket", False, "succeeded")
    except s3.exceptions.ClientError as e:
        check("an unknown bucket -> NoSuchBucket", code(e) == ("NoSuchBucket", 404), code(e))


def ordlog_checks(url, ordlog, work):
    env = dict(os.environ, AWS_ENDPOINT_URL=url, AWS_EC2_METADATA_DISABLED="true", AWS_ACCESS_KEY_ID="x",
               AWS_SECRET_ACCESS_KEY="x", AWS_REGION="us-east-1", ORDLOG_CACHE=os.path.join(work, "cache"),
               AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    env.pop("AWS_PROFILE", None)
    run = lambda *args: subprocess.run([ordlog] + list(args), env=env, capture_output=True, text=True, timeout=300)
    traffic = os.path.join(work, "traffic.jsonl")
    subprocess.run([sys.executable, os.path.join(HERE, "gen_traffic.py"), "--messages", "1000", "--seed", "7",
                    "--out", traffic], check=True, capture_output=True)
    urllib.request.urlopen(urllib.request.Request(url + "/_model/load", data=open(traffic, "rb").read(),
                                                  method="POST")).read()
    db = os.path.join(work, "c.db")
    p = run("consume", "--queue", "OrderQueue", "--table", "Orders", "--until-empty", "--wait-time", "1", "--db", db,
            "--archive-every", "1s", "--archive-to", "s3://bench-bucket/t1", "--json")
    check("consume --archive-every 1s --archive-to s3:// (exit 0)", p.returncode == 0, p.stderr[-300:])
    p = run("archive", "--db", db, "--to", "s3://bench-bucket/t1", "--json")
    check("archive again is idempotent (exit 0, nothing uploaded)", p.returncode == 0
          and json.loads(p.stdout or "{}").get("uploaded") == [], (p.returncode, p.stdout, p.stderr[-300:]))
    head = run("head", "--db", db).stdout.strip()
    p = run("verify", "--db", "s3://bench-bucket/t1", "--head", head)
    check("verify --db s3://bench-bucket/t1 --head (exit 0)", p.returncode == 0, p.stdout + p.stderr[-300:])
    p = run("archive", "--db", db, "--to", "s3://bench-bucket/mp", "--multipart-threshold-mib", "1",
            "--part-size-mib", "5", "--json")
    check("archive as multipart (exit 0)", p.returncode == 0, p.stderr[-300:])
    p = run("verify", "--db", "s3://bench-bucket/mp")
    check("verify the multipart archive (exit 0)", p.returncode == 0, p.stdout + p.stderr[-300:])
    segs = os.path.join(db + ".segments")
    cid = os.listdir(segs)[0]
    seg = sorted(f for f in os.listdir(os.path.join(segs, cid)) if f.endswith(".ordlog"))[0]
    urllib.request.urlopen(urllib.request.Request("%s/bench-bucket/t3/%s/%s" % (url, cid, seg), data=b"other",
                                                  method="PUT")).read()
    p = run("archive", "--db", db, "--to", "s3://bench-bucket/t3", "--json")
    check("archive onto a key with other bytes exits 1 and does not overwrite", p.returncode == 1
          and urllib.request.urlopen("%s/bench-bucket/t3/%s/%s" % (url, cid, seg)).read() == b"other",
          (p.returncode, p.stderr[-300:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ordlog", help="also check ordlog's archive/verify against the model")
    ap.add_argument("--work-dir", default="/tmp/ordlog-bench/check-s3")
    a = ap.parse_args()
    shutil.rmtree(a.work_dir, ignore_errors=True)
    os.makedirs(a.work_dir)
    portfile = os.path.join(a.work_dir, "port")
    model = subprocess.Popen([sys.executable, os.path.join(HERE, "aws_model.py"), "--port-file", portfile,
                              "--bucket", "bench-bucket", "--s3-latency-ms", "2", "--latency-ms", "2"],
                             stderr=open(os.path.join(a.work_dir, "model.log"), "w"))
    try:
        for _ in range(100):
            if os.path.exists(portfile):
                break
            time.sleep(0.1)
        url = "http://127.0.0.1:" + open(portfile).read().strip()
        boto3_checks(url)
        if a.ordlog:
            ordlog_checks(url, os.path.abspath(a.ordlog), a.work_dir)
    finally:
        model.terminate()
        model.wait()
    print("%d failed" % len(failures) if failures else "all checks held")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
