"""The sandbox's load balancer on its own: HAProxy driven by the ALB rules, against
two small HTTP servers on loopback (no machines, no sandbox)."""

from __future__ import annotations

import http.client
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from argos_cloud.processes import process_alive
from argos_cloud.sandbox.hosts.balancer import Balancers, GroupView, ListenerView
from argos_cloud.sandbox.hosts.haproxy import Haproxy
from argos_cloud.sandbox.hosts.records import Records, teardown

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy missing")
GROUP, LISTENER, BALANCER = "arn:tg/web", "arn:listener/80", "arn:lb/app"


@dataclass
class Backend:
    """A target: answers `/` with its name, `/slow` after `slow` seconds; counts requests
    (health checks apart)."""

    name: str
    slow: float = 0.0
    served: int = 0
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> int:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def do_GET(self) -> None:
                # The balancer's own health checks are not traffic: counting them made a
                # check look like the slow request being in flight on this target.
                counted = 0 if self.headers.get("User-Agent", "").startswith(
                    "ELB-HealthChecker") else 1
                with backend.lock:
                    backend.served += counted
                    backend.in_flight += counted
                try:
                    if self.path == "/slow":
                        time.sleep(backend.slow)
                    data = backend.name.encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    with backend.lock:
                        backend.in_flight -= counted

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return int(self.server.server_address[1])

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def group(targets: tuple[tuple[str, int], ...], delay: float = 20.0) -> GroupView:
    return GroupView(GROUP, 80, "/", "traffic-port", 0.5, 0.5, 2, 2, "200", targets, delay)


@pytest.fixture()
def lb(tmp_path: Path) -> Iterator[tuple[Balancers, dict[str, Backend], dict[str, int]]]:
    records = Records(tmp_path)
    backends = {"i-a": Backend("a", slow=3.0), "i-b": Backend("b", slow=3.0)}
    ports = {iid: b.start() for iid, b in backends.items()}
    balancers = Balancers(Haproxy(tmp_path, records))
    balancers.start()
    try:
        yield balancers, backends, ports
    finally:
        balancers.stop()
        pid = balancers.haproxy.pid
        teardown(records)
        for b in backends.values():
            b.stop()
        assert pid is not None and not process_alive(pid)


def until(what: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(0.05)
    return what()


def get(port: int, path: str = "/") -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        reply = connection.getresponse()
        return reply.status, reply.read().decode()
    finally:
        connection.close()


def register(balancers: Balancers, ports: dict[str, int], ids: list[str],
             delay: float = 20.0) -> int:
    answered = balancers.update(
        [group(tuple((i, ports[i]) for i in ids), delay)],
        [ListenerView(LISTENER, BALANCER, 80, GROUP)],
        {i: "127.0.0.1" for i in ports}, set())
    return answered[BALANCER]


def test_targets_serve_once_healthy_and_a_deregistered_one_drains(lb: tuple[
        Balancers, dict[str, Backend], dict[str, int]]) -> None:
    balancers, backends, ports = lb
    front = register(balancers, ports, ["i-a", "i-b"])
    assert get(front)[0] == 503  # nothing healthy yet: initial checks in progress
    assert until(lambda: all((h := balancers.state_of(GROUP, i)) is not None
                             and h.state == "healthy" for i in ("i-a", "i-b")))
    names = {get(front)[1] for _ in range(10)}
    assert names == {"a", "b"}  # round robin over both

    slow: list[tuple[int, str]] = []
    while backends["i-b"].in_flight == 0:  # a slow request held by b
        threading.Thread(target=lambda: slow.append(get(front, "/slow")), daemon=True).start()
        assert until(lambda: backends["i-b"].in_flight > 0 or len(slow) > 0, 5.0)
        if backends["i-b"].in_flight == 0:
            assert until(lambda: len(slow) > 0)
            slow.clear()
    served_by_b = backends["i-b"].served
    register(balancers, ports, ["i-a"])
    state = balancers.state_of(GROUP, "i-b")
    assert state is not None and state.state == "draining"
    assert {get(front)[1] for _ in range(10)} == {"a"}  # no new request reaches b
    assert backends["i-b"].served == served_by_b
    assert until(lambda: (200, "b") in slow)  # the one in flight finished
    assert until(lambda: balancers.state_of(GROUP, "i-b") is None, 3.0)  # drain ended early
    assert balancers.wait_drained("i-b", 1.0)


def test_an_idle_target_drains_at_once_and_a_silent_one_is_taken_out(lb: tuple[
        Balancers, dict[str, Backend], dict[str, int]]) -> None:
    balancers, backends, ports = lb
    front = register(balancers, ports, ["i-a", "i-b"], delay=60.0)
    assert until(lambda: all((h := balancers.state_of(GROUP, i)) is not None
                             and h.state == "healthy" for i in ("i-a", "i-b")))
    register(balancers, ports, ["i-a"], delay=60.0)
    started = time.monotonic()
    assert balancers.wait_drained("i-b", 10.0)
    assert time.monotonic() - started < 5.0  # nothing in flight: not the 60 s delay

    backends["i-a"].stop()  # stops answering: 2 failed checks 0.5 s apart
    assert until(lambda: (h := balancers.state_of(GROUP, "i-a")) is not None
                 and h.state == "unhealthy", 5.0)
    assert get(front)[0] == 503
