"""A small Amazon SQS client on the standard library: the worker needs three calls
(ReceiveMessage, DeleteMessage, SendMessage), so the image carries no SDK.

It speaks SQS's JSON protocol (POST /, Content-Type application/x-amz-json-1.0,
X-Amz-Target AmazonSQS.<Action>; Amazon SQS API reference, "Making query API
requests" / JSON protocol) signed with Signature Version 4 (AWS General
Reference, "Create a signed AWS API request"). Credentials come from the
environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or, in
an ECS task, from the container credentials endpoint: 169.254.170.2 plus
AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or AWS_CONTAINER_CREDENTIALS_FULL_URI
with AWS_CONTAINER_AUTHORIZATION_TOKEN (ECS developer guide, "Task IAM role").
AWS_ENDPOINT_URL_SQS or AWS_ENDPOINT_URL point it elsewhere (a local stand-in).
"""
import datetime
import hashlib
import hmac
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request

CONTAINER_HOST = "http://169.254.170.2"


class SQSError(Exception):
    def __init__(self, status, kind, message):
        super().__init__(f"SQS {status} {kind}: {message}")
        self.status, self.kind = status, kind


class Credentials:
    """Keys from the environment, or the task role's, refreshed before they expire."""

    def __init__(self, environ=os.environ):
        self.environ = environ
        self._cached, self._expires = None, 0.0

    def get(self):
        env = self.environ
        if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
            return env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN") or None
        if self._cached and time.time() < self._expires - 300:
            return self._cached
        url = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        if not url and env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
            url = CONTAINER_HOST + env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]
        if not url:
            raise SQSError(0, "NoCredentials", "no AWS credentials: not in an ECS task and none in the environment")
        req = urllib.request.Request(url)
        if env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN"):
            req.add_header("Authorization", env["AWS_CONTAINER_AUTHORIZATION_TOKEN"])
        with urllib.request.urlopen(req, timeout=5) as resp:
            c = json.load(resp)
        expires = datetime.datetime.fromisoformat(c["Expiration"].replace("Z", "+00:00")).timestamp()
        self._cached, self._expires = (c["AccessKeyId"], c["SecretAccessKey"], c.get("Token")), expires
        return self._cached


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sign(method, url, headers, body, region, service, creds, now):
    """Adds SigV4's X-Amz-Date, X-Amz-Security-Token and Authorization to headers."""
    key, secret, token = creds
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    parsed = urllib.parse.urlparse(url)
    headers = dict(headers, Host=parsed.netloc, **{"X-Amz-Date": amz_date})
    if token:
        headers["X-Amz-Security-Token"] = token
    canon = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    signed = ";".join(sorted(canon))
    canonical = "\n".join([
        method, parsed.path or "/", parsed.query,
        "".join(f"{k}:{canon[k]}\n" for k in sorted(canon)),
        signed, hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = _hmac(("AWS4" + secret).encode(), day)
    for part in (region, service, "aws4_request"):
        k = _hmac(k, part)
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = f"AWS4-HMAC-SHA256 Credential={key}/{scope}, SignedHeaders={signed}, Signature={signature}"
    return headers


class Queue:
    """One SQS queue, by its URL (https://sqs.<region>.amazonaws.com/<account>/<name>)."""

    def __init__(self, url, environ=os.environ, credentials=None):
        self.url = url
        m = re.match(r"https://sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/", url)
        self.region = environ.get("AWS_REGION") or (m.group(1) if m else "us-east-1")
        default = f"https://sqs.{self.region}.amazonaws.com/"
        self.endpoint = environ.get("AWS_ENDPOINT_URL_SQS") or environ.get("AWS_ENDPOINT_URL") or default
        self.credentials = credentials or Credentials(environ)

    def call(self, action, params, timeout=30):
        body = json.dumps(dict(params, QueueUrl=self.url)).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS." + action}
        headers = sign("POST", self.endpoint, headers, body, self.region, "sqs", self.credentials.get(), datetime.datetime.now(datetime.timezone.utc))
        req = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                data = resp.read()
        except urllib.error.HTTPError as e:
            err = json.loads(e.read() or b"{}")
            raise SQSError(e.code, err.get("__type", "").split("#")[-1], err.get("message", "")) from None
        return json.loads(data or b"{}")

    def receive(self, wait=20, max_messages=10, visibility=None):
        params = {"MaxNumberOfMessages": max_messages, "WaitTimeSeconds": wait}
        if visibility is not None:
            params["VisibilityTimeout"] = visibility
        # An empty receive carries no Messages member at all.
        return self.call("ReceiveMessage", params, timeout=wait + 10).get("Messages") or []

    def delete(self, receipt_handle):
        self.call("DeleteMessage", {"ReceiptHandle": receipt_handle})

    def send(self, body):
        return self.call("SendMessage", {"MessageBody": body})["MessageId"]
