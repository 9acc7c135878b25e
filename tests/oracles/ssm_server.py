"""A Systems Manager endpoint on 127.0.0.1 that checks what rolecall sends.

Each POST is checked the way SSM would, with botocore as the reference:
  - the SigV4 signature is computed again by botocore's own signer
    (botocore.auth.SigV4Auth) over the headers the request says it signed,
    with the credentials this server was given (env SSM_KEY, SSM_SECRET,
    SSM_TOKEN), the region in SSM_REGION, service "ssm", and the request's
    own X-Amz-Date, which must be within five minutes of now;
  - the body is validated against botocore's `ssm` model for the operation
    in X-Amz-Target (botocore.validate.validate_parameters), plus the
    model's max lengths, enums and patterns, which botocore leaves to the service.

usage: ssm_server.py MODE LOG
  MODE accept: answers 200 {} when both checks pass, 403 (signature) or
       400 (body) otherwise, as SSM does;
  MODE refuse: answers 403 AccessDeniedException whatever the request;
  MODE hang: logs the request, then answers nothing for 60 seconds.
  LOG gets one JSON line per request: target, signature_ok, errors, body.
Prints the port it listens on, then serves until killed.
"""

import datetime
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.validate import validate_parameters

MODE, LOG = sys.argv[1], sys.argv[2]
KEY, SECRET, TOKEN = os.environ["SSM_KEY"], os.environ["SSM_SECRET"], os.environ["SSM_TOKEN"]
REGION = os.environ.get("SSM_REGION", "us-east-1")
MODEL = botocore.session.get_session().get_service_model("ssm")


def limits(value, shape, path, errors):
    """The constraints botocore's validator does not check: max, enum, pattern."""
    meta = shape.metadata
    if shape.type_name == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: {len(value)} characters, max {meta['max']}")
        if "enum" in meta and value not in meta["enum"]:
            errors.append(f"{path}: {value!r} is not one of {meta['enum']}")
        if "pattern" in meta and not re.search(meta["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {meta['pattern']}")
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: {len(value)} members, max {meta['max']}")
        for i, v in enumerate(value):
            limits(v, shape.member, f"{path}[{i}]", errors)
    elif shape.type_name == "map" and isinstance(value, dict):
        for k, v in value.items():
            limits(k, shape.key, f"{path} key {k!r}", errors)
            limits(v, shape.value, f"{path}[{k!r}]", errors)
    elif shape.type_name == "structure" and isinstance(value, dict):
        for k, v in value.items():
            if k in shape.members:
                limits(v, shape.members[k], f"{path}.{k}", errors)


def check_signature(handler, body):
    auth = handler.headers.get("Authorization", "")
    m = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
        r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
        auth,
    )
    if not m:
        return False, "no SigV4 Authorization header"
    key, day, region, service, signed, signature = m.groups()
    if (key, region, service) != (KEY, REGION, "ssm"):
        return False, f"signed as {key}/{region}/{service}"
    amz_date = handler.headers.get("X-Amz-Date", "")
    when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 300 or day != amz_date[:8]:
        return False, f"X-Amz-Date {amz_date} is not now"
    names = signed.split(";")
    for required in ("host", "x-amz-date", "x-amz-security-token", "x-amz-target", "content-type"):
        if required not in names:
            return False, f"{required} is not signed"
    if handler.headers.get("X-Amz-Security-Token") != TOKEN:
        return False, "not the role's session token"
    request = AWSRequest(
        method="POST",
        url=f"http://{handler.headers['Host']}{handler.path}",
        data=body,
        headers={n: handler.headers[n] for n in names if n != "host"},
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(KEY, SECRET, TOKEN), "ssm", REGION)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    return expected == signature, "" if expected == signature else "signature does not match botocore's"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        target = self.headers.get("X-Amz-Target", "")
        signature_ok, why = check_signature(self, body)
        errors = [] if signature_ok else [why]
        params = None
        try:
            params = json.loads(body)
            operation = MODEL.operation_model(target.removeprefix("AmazonSSM."))
            try:
                validate_parameters(params, operation.input_shape)
            except Exception as e:  # botocore raises ParamValidationError with every problem
                errors.append(str(e))
            limits(params, operation.input_shape, operation.name, errors)
            if self.headers.get("Content-Type") != "application/x-amz-json-1.1":
                errors.append(f"Content-Type {self.headers.get('Content-Type')}")
        except Exception as e:
            errors.append(f"unreadable request: {e}")
        with open(LOG, "a") as log:
            log.write(json.dumps({"target": target, "signature_ok": signature_ok, "errors": errors, "body": params}) + "\n")
        if MODE == "hang":
            import time
            time.sleep(60)
            return
        if MODE == "refuse":
            status, answer = 403, {"__type": "AccessDeniedException", "message": "not authorized to perform: ssm:PutComplianceItems"}
        elif not signature_ok:
            status, answer = 403, {"__type": "InvalidSignatureException", "message": why}
        elif errors:
            status, answer = 400, {"__type": "ValidationException", "message": "; ".join(errors)}
        else:
            status, answer = 200, {}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
