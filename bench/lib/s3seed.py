"""PUTs small objects under the keys read from stdin, or counts a bucket's objects, with
hand-signed SigV4 requests (stdlib only), for bench/sweep.sh. Usage:
    python3 bench/lib/s3seed.py ENDPOINT REGION ACCESS_KEY SECRET_KEY BUCKET put < keys
    python3 bench/lib/s3seed.py ENDPOINT REGION ACCESS_KEY SECRET_KEY BUCKET count
"""
import concurrent.futures
import datetime
import hashlib
import hmac
import re
import sys
import urllib.parse
import urllib.request


def _sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def call(endpoint, region, access, secret, method, path, query="", body=b""):
    url = f"{endpoint.rstrip('/')}{urllib.parse.quote(path)}" + (f"?{query}" if query else "")
    host = urllib.parse.urlparse(url).netloc
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join([
        method, urllib.parse.quote(path), query,
        "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, payload,
    ])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _sign(_sign(_sign(_sign(f"AWS4{secret}".encode(), day), region), "s3"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, method=method, data=body if method == "PUT" else None)
    for name, value in headers.items():
        if name != "host":
            request.add_header(name, value)
    request.add_header("Authorization",
                       f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={signed}, Signature={signature}")
    with urllib.request.urlopen(request) as response:
        return response.read()


def main():
    endpoint, region, access, secret, bucket, what = sys.argv[1:7]
    if what == "put":
        keys = [line.strip() for line in sys.stdin if line.strip()]
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda k: call(endpoint, region, access, secret, "PUT", f"/{bucket}/{k}", body=b"x"), keys))
        print(len(keys))
    elif what == "count":
        # Every page: a listing holds at most 1,000 keys. SigV4 signs the query sorted by
        # name, so the continuation token goes first.
        total, token = 0, None
        while True:
            query = (f"continuation-token={urllib.parse.quote(token, safe='')}&" if token else "") + \
                "list-type=2&max-keys=1000"
            body = call(endpoint, region, access, secret, "GET", f"/{bucket}", query).decode()
            total += len(re.findall(r"<Key>", body))
            found = re.search(r"<NextContinuationToken>(.*?)</NextContinuationToken>", body)
            if "<IsTruncated>true</IsTruncated>" not in body or not found:
                break
            token = found.group(1)
        print(total)


if __name__ == "__main__":
    main()
