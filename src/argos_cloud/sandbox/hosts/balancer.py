"""Application load balancers that really balance: one HTTP proxy per listener on 127.0.0.1.

Each listener forwards to the targets of its target group that pass the
group's own health check (path, port, interval, timeout, thresholds and
matcher, checked for real from this computer), round robin. The same states
answer DescribeTargetHealth, so the deploy's health gate sees the truth. A
load balancer's DNS name becomes `127.0.0.1:<port>` of its first listener:
that is where it answers.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOOPBACK = "127.0.0.1"
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "te", "trailers", "transfer-encoding", "upgrade"})


@dataclass(frozen=True)
class GroupView:
    arn: str
    port: int
    path: str
    check_port: str  # "traffic-port" or a number
    interval: float
    timeout: float
    healthy_after: int
    unhealthy_after: int
    matcher: str  # "200", "200-399", "200,302"
    targets: tuple[tuple[str, int], ...]  # (instance id, port)


@dataclass(frozen=True)
class ListenerView:
    arn: str
    balancer_arn: str
    port: int
    group_arn: str | None


@dataclass
class Health:
    state: str = "initial"
    reason: str | None = "Elb.InitialHealthChecking"
    passes: int = 0
    fails: int = 0
    due: float = 0.0


def matches(matcher: str, status: int) -> bool:
    """An ELB matcher: codes and ranges, comma separated."""
    for part in matcher.split(","):
        low, _, high = part.strip().partition("-")
        if low and int(low) <= status <= int(high or low):
            return True
    return False


def judge(health: Health, passed: bool, group: GroupView) -> None:
    """One check's outcome moves the state by the group's thresholds. Pure, for the tests."""
    if passed:
        health.passes, health.fails = health.passes + 1, 0
        if health.state != "healthy" and health.passes >= group.healthy_after:
            health.state, health.reason = "healthy", None
    else:
        health.fails, health.passes = health.fails + 1, 0
        if health.state == "initial" or health.fails >= group.unhealthy_after:
            health.state = "unhealthy" if health.fails >= group.unhealthy_after else "initial"
            health.reason = ("Target.FailedHealthChecks" if health.state == "unhealthy"
                             else "Elb.InitialHealthChecking")


@dataclass
class Balancers:
    """Proxies and health checks; `update` is called with moto's view after each request."""

    address_of: Callable[[str], str | None]
    groups: dict[str, GroupView] = field(default_factory=dict)
    health: dict[tuple[str, str], Health] = field(default_factory=dict)
    fronts: dict[str, tuple[ThreadingHTTPServer, ListenerView]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    turn: itertools.count = field(default_factory=itertools.count)  # type: ignore[type-arg]
    stopped: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._check_loop, name="target-health", daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()
        for server, _ in self.fronts.values():
            server.shutdown()
            server.server_close()

    def update(self, groups: list[GroupView], listeners: list[ListenerView]) -> dict[str, int]:
        """Follow moto's records; returns balancer arn -> the port its first listener answers on."""
        with self.lock:
            self.groups = {g.arn: g for g in groups}
            wanted = {(g.arn, t[0]) for g in groups for t in g.targets}
            for key in [k for k in self.health if k not in wanted]:
                del self.health[key]
            for key in wanted:
                self.health.setdefault(key, Health())
        for arn in [a for a in self.fronts if a not in {li.arn for li in listeners}]:
            server, _ = self.fronts.pop(arn)
            server.shutdown()
            server.server_close()
        ports: dict[str, int] = {}
        for listener in sorted(listeners, key=lambda li: li.port):
            if listener.arn not in self.fronts:
                server = ThreadingHTTPServer((LOOPBACK, 0), self._handler(listener.arn))
                server.daemon_threads = True
                threading.Thread(target=server.serve_forever, daemon=True,
                                 name=f"listener-{listener.port}").start()
                self.fronts[listener.arn] = (server, listener)
            self.fronts[listener.arn] = (self.fronts[listener.arn][0], listener)
            ports.setdefault(listener.balancer_arn,
                             int(self.fronts[listener.arn][0].server_address[1]))
        return ports

    def state_of(self, group_arn: str, target_id: str) -> Health | None:
        with self.lock:
            return self.health.get((group_arn, target_id))

    def healthy(self, group_arn: str) -> list[tuple[str, int]]:
        with self.lock:
            group = self.groups.get(group_arn)
            if group is None:
                return []
            found = []
            for target_id, port in group.targets:
                health = self.health.get((group_arn, target_id))
                address = self.address_of(target_id)
                if health is not None and health.state == "healthy" and address:
                    found.append((address, port))
            return found

    # -- health checks ---------------------------------------------------------------

    def _check_loop(self) -> None:
        while not self.stopped.wait(0.5):
            now = time.monotonic()
            with self.lock:
                due = [(g, target, port, self.health[(g.arn, target)])
                       for g in self.groups.values() for target, port in g.targets
                       if (g.arn, target) in self.health
                       and self.health[(g.arn, target)].due <= now]
                for group, _, _, health in due:
                    health.due = now + group.interval
            for group, target, port, health in due:
                threading.Thread(target=self._check, args=(group, target, port, health),
                                 daemon=True).start()

    def _check(self, group: GroupView, target: str, port: int, health: Health) -> None:
        address = self.address_of(target)
        check_port = port if group.check_port == "traffic-port" else int(group.check_port)
        passed = False
        if address:
            try:
                connection = http.client.HTTPConnection(address, check_port,
                                                        timeout=group.timeout)
                connection.request("GET", group.path or "/",
                                   headers={"User-Agent": "ELB-HealthChecker/2.0"})
                passed = matches(group.matcher, connection.getresponse().status)
                connection.close()
            except OSError:
                passed = False
        with self.lock:
            judge(health, passed, group)

    # -- the proxy ------------------------------------------------------------------

    def _handler(self, listener_arn: str) -> type[BaseHTTPRequestHandler]:
        balancers = self

        class Front(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def _forward(self) -> None:
                listener = balancers.fronts[listener_arn][1]
                targets = balancers.healthy(listener.group_arn or "")
                if not targets:
                    return self._plain(503, "503 Service Temporarily Unavailable: "
                                            "no healthy target\n")
                address, port = targets[next(balancers.turn) % len(targets)]
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
                headers["Host"] = self.headers.get("Host", f"{LOOPBACK}")
                headers["X-Forwarded-For"] = self.client_address[0]
                try:
                    upstream = http.client.HTTPConnection(address, port, timeout=60)
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    reply = upstream.getresponse()
                    data = reply.read()
                except OSError:
                    return self._plain(502, "502 Bad Gateway\n")
                self.send_response(reply.status, reply.reason)
                for key, value in reply.getheaders():
                    if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()
                return None

            def _plain(self, code: int, text: str) -> None:
                data = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        return Front
