"""A loopback HTTP proxy in front of a moto server that drops a share of answers.

Each request is forwarded and carried out; then, for a seeded random share,
the connection is closed instead of answering: the client sees the connection
drop after AWS acted (a lost answer), exactly what retries must survive.
Requests to /moto-api/ (the emulator's own API) are never dropped.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class DroppingProxy:
    def __init__(self, upstream: str, fraction: float, seed: int = 0) -> None:
        self.upstream = urlsplit(upstream)
        self.fraction = fraction
        self.rng = random.Random(seed)
        self.lock = threading.Lock()  # one request at a time upstream, as the emulator wants
        self.dropped: list[str] = []
        self.forwarded = 0

    def forward(self, method: str, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, list[tuple[str, str]], bytes, bool]:
        with self.lock:
            conn = http.client.HTTPConnection(self.upstream.hostname or "127.0.0.1",
                                              self.upstream.port or 80, timeout=60)
            try:
                conn.request(method, path, body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                answer = (reply.status, reply.getheaders(), data)
            finally:
                conn.close()
            self.forwarded += 1
            drop = not path.startswith("/moto-api") and self.rng.random() < self.fraction
            if drop:
                self.dropped.append(headers.get("X-Amz-Target") or _action(body) or path)
            return (*answer, drop)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP}
                status, reply_headers, data, drop = proxy.forward(self.command, self.path,
                                                                  headers, body)
                if drop:  # AWS acted; the answer never arrives
                    self.close_connection = True
                    return
                self.send_response(status)
                for name, value in reply_headers:
                    if name.lower() not in HOP_BY_HOP and name.lower() not in (
                            "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

            def log_message(self, *_: object) -> None:
                pass

        return Handler


def _action(body: bytes) -> str:
    for part in body.split(b"&"):
        if part.startswith(b"Action="):
            return part[7:].decode(errors="replace")
    return ""


@contextlib.contextmanager
def dropping_proxy(upstream: str, fraction: float, seed: int = 0) -> Iterator[DroppingProxy]:
    """The proxy serving on 127.0.0.1; `proxy.url` is its endpoint."""
    proxy = DroppingProxy(upstream, fraction, seed)
    server = ThreadingHTTPServer(("127.0.0.1", 0), proxy.handler())
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    proxy.url = f"http://127.0.0.1:{server.server_port}"  # type: ignore[attr-defined]
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
