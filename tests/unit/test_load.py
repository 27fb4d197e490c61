"""The load generator the hosts tests and the bench count dropped requests with."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from argos_cloud.sandbox.load import MAX_CLIENTS, Load


def serve(status: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize(("status", "failing"), [(200, False), (503, True)])
def test_every_answer_is_counted_served_or_failed(status: int, failing: bool) -> None:
    server = serve(status)
    try:
        with Load(f"http://127.0.0.1:{server.server_address[1]}/", clients=2) as load:
            time.sleep(0.5)
    finally:
        server.shutdown()
        server.server_close()
    tally = load.tally
    assert tally.served + tally.failed == sum(tally.statuses.values()) > 0
    assert (tally.failed > 0, tally.served > 0) == (failing, not failing)
    if failing:
        assert tally.reasons == {f"HTTP {status}": tally.failed}


def test_a_refused_connection_is_a_failed_request_and_clients_are_bounded() -> None:
    server = serve(200)
    port = server.server_address[1]
    server.shutdown()
    server.server_close()  # nothing listens there now
    with Load(f"http://127.0.0.1:{port}/", clients=100, timeout=2.0) as load:
        time.sleep(0.2)
    assert load.clients == MAX_CLIENTS
    assert load.tally.served == 0 and load.tally.reasons["ConnectionRefusedError"] > 0


def test_only_an_http_url_is_loaded() -> None:
    with pytest.raises(ValueError, match="not an http:// URL"):
        Load("ftp://127.0.0.1/")
