"""Creates an S3 bucket with a hand-signed SigV4 request (stdlib only), for bench scripts
that need a fresh bucket on a real S3 server such as Ceph RGW. Usage:
    python3 bench/lib/s3bucket.py ENDPOINT REGION ACCESS_KEY SECRET_KEY BUCKET
"""
import datetime
import hashlib
import hmac
import sys
import urllib.parse
import urllib.request


def sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def create_bucket(endpoint: str, region: str, access: str, secret: str, bucket: str) -> None:
    url = f"{endpoint.rstrip('/')}/{bucket}"
    host = urllib.parse.urlparse(url).netloc
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    payload = hashlib.sha256(b"").hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join([
        "PUT", f"/{bucket}", "",
        "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)),
        signed, payload,
    ])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join([
        "AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest(),
    ])
    key = sign(sign(sign(sign(f"AWS4{secret}".encode(), day), region), "s3"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, method="PUT")
    for name, value in headers.items():
        if name != "host":
            request.add_header(name, value)
    request.add_header(
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={signed}, Signature={signature}",
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200, response.status


if __name__ == "__main__":
    create_bucket(*sys.argv[1:6])
