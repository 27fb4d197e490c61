"""IMDSv2 at 169.254.169.254, answering each machine about itself.

The caller is known by its source address (each machine has exactly its
PrivateIpAddress). As the launches ask (`HttpTokens=required`), a GET
without a session token from `PUT /latest/api/token` is refused with 401.
Credentials of the instance profile's role are accepted by moto as they are.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from argos_cloud.sandbox.hosts.network import ANCHOR_IP

TOKEN_HEADER = "X-aws-ec2-metadata-token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"


@dataclass(frozen=True)
class Identity:
    """What IMDS tells an instance about itself."""

    instance_id: str
    address: str
    hostname: str
    region: str
    zone: str
    image_id: str
    instance_type: str
    role: str | None
    user_data: bytes


Lookup = Callable[[str], "Identity | None"]


def metadata(identity: Identity, path: str) -> str | None:
    """The text of one meta-data path, or None (404). Pure, for the tests."""
    role = identity.role
    if path.startswith("iam/security-credentials/") and role:
        asked = path.removeprefix("iam/security-credentials/").strip("/")
        if asked == "":
            return role
        if asked == role:
            return json.dumps(_credentials(identity))
        return None
    values = {
        "": "ami-id\nhostname\niam/\ninstance-id\ninstance-type\nlocal-hostname\n"
            "local-ipv4\nplacement/",
        "ami-id": identity.image_id,
        "instance-id": identity.instance_id,
        "instance-type": identity.instance_type,
        "local-ipv4": identity.address,
        "hostname": identity.hostname,
        "local-hostname": identity.hostname,
        "placement/": "availability-zone\nregion",
        "placement/region": identity.region,
        "placement/availability-zone": identity.zone,
    }
    if role:
        values["iam/"] = "info\nsecurity-credentials/"
        values["iam/info"] = json.dumps({
            "Code": "Success", "LastUpdated": _stamp(datetime.now(UTC)),
            "InstanceProfileArn": f"arn:aws:iam::123456789012:instance-profile/{role}",
            "InstanceProfileId": "AIPA" + identity.instance_id[-12:].upper()})
    return values.get(path)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _credentials(identity: Identity) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"Code": "Success", "Type": "AWS-HMAC", "LastUpdated": _stamp(now),
            "AccessKeyId": "ASIA" + identity.instance_id[-12:].upper().rjust(16, "X"),
            "SecretAccessKey": "sandbox-" + identity.instance_id,
            "Token": "sandbox-session-" + identity.instance_id,
            "Expiration": _stamp(now + timedelta(hours=6))}


def identity_document(identity: Identity) -> str:
    return json.dumps({"accountId": "123456789012", "architecture": "x86_64",
                       "availabilityZone": identity.zone, "imageId": identity.image_id,
                       "instanceId": identity.instance_id,
                       "instanceType": identity.instance_type,
                       "privateIp": identity.address, "region": identity.region,
                       "version": "2017-09-30"}, indent=2)


class Imds:
    """The metadata service; `serve()` starts it on 169.254.169.254:80 in a thread."""

    def __init__(self, lookup: Lookup, host: str = ANCHOR_IP, port: int = 80) -> None:
        self.lookup = lookup
        self.tokens: dict[str, tuple[str, float]] = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True

    def serve(self) -> None:
        threading.Thread(target=self.server.serve_forever, name="imds", daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def issue(self, instance_id: str, ttl: int) -> str:
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = (instance_id, time.monotonic() + ttl)
        return token

    def valid(self, token: str | None, instance_id: str) -> bool:
        with self.lock:
            held = self.tokens.get(token or "")
        return held is not None and held[0] == instance_id and held[1] > time.monotonic()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        imds = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "EC2ws"

            def log_message(self, *args: object) -> None:
                return

            def _send(self, code: int, body: str = "", kind: str = "text/plain") -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _bytes(self, data: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:
                identity = imds.lookup(self.client_address[0])
                if identity is None:
                    return self._send(403, "Forbidden")
                if self.path != "/latest/api/token" or self.headers.get("X-Forwarded-For"):
                    return self._send(403 if self.path == "/latest/api/token" else 404)
                try:
                    ttl = int(self.headers.get(TTL_HEADER, ""))
                except ValueError:
                    return self._send(400, "Bad Request")
                if not 1 <= ttl <= 21600:
                    return self._send(400, "Bad Request")
                token = imds.issue(identity.instance_id, ttl)
                self.send_response(200)
                self.send_header(TTL_HEADER, str(ttl))
                self.send_header("Content-Length", str(len(token)))
                self.end_headers()
                self.wfile.write(token.encode())
                return None

            def do_GET(self) -> None:
                identity = imds.lookup(self.client_address[0])
                if identity is None:
                    return self._send(403, "Forbidden")
                if not imds.valid(self.headers.get(TOKEN_HEADER), identity.instance_id):
                    return self._send(401, "Unauthorized")  # IMDSv1 is off
                path = self.path.split("?", 1)[0]
                if path == "/latest/user-data":
                    if not identity.user_data:
                        return self._send(404, "Not Found")
                    return self._bytes(identity.user_data)
                if path == "/latest/dynamic/instance-identity/document":
                    return self._send(200, identity_document(identity), "application/json")
                if path.startswith("/latest/meta-data/"):
                    text = metadata(identity, path.removeprefix("/latest/meta-data/"))
                    if text is not None:
                        return self._send(200, text)
                return self._send(404, "Not Found")

        return Handler
