"""HAProxy carries the hosts sandbox's load-balancer traffic; the sandbox drives it.

One HAProxy process (master-worker mode) for every load balancer of the sandbox:
a frontend per listener on 127.0.0.1, a backend per target group with a fixed
number of server slots. The sandbox never lets HAProxy decide who serves: its
own health checks (the target group's thresholds, `balancer.judge`) put a slot
`ready` or in `maint`, and a deregistered target's slot is put in `drain`
(in-flight requests finish, no new ones arrive) until nothing is in flight or
the deregistration delay ends. All of it through the master CLI's socket
and its
workers' runtime API socket.

The configuration carries the slots' current addresses and states, so a reload
(a listener or target group added or removed) starts its new worker with the
same servers serving: HAProxy hands its listening sockets over, and the old
worker finishes the connections it has.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from argos_cloud.clock import Clock, RealClock
from argos_cloud.errors import OperationFailed
from argos_cloud.sandbox.hosts.records import Records, start_daemon
from argos_cloud.waiting import wait_until

LOOPBACK = "127.0.0.1"
SLOTS = 32  # servers per target group: a group with more registered targets serves 32
MARKER = "argos-sandbox-haproxy"
READY, DRAIN, MAINT = "ready", "drain", "maint"
CONNECT_PATIENCE = 5.0  # seconds a refusing socket is tried again


@dataclass(frozen=True)
class Slot:
    """One server line of a backend: where it sends traffic and whether it may."""

    address: str | None
    port: int
    state: str  # READY, DRAIN or MAINT


@dataclass(frozen=True)
class Front:
    """One listener as HAProxy binds it."""

    key: str  # a short stable name derived from the listener's ARN
    port: int  # the loopback port it answers on
    backend: str | None  # the forward target's backend name, or None
    pem: Path | None = None  # TLS: certificate chain and key, for HTTPS listeners
    redirect_port: int | None = None  # an HTTP listener that redirects to HTTPS there


def short(arn: str) -> str:
    """A stable HAProxy name for an ARN (HAProxy names allow no ':' or '/')."""
    return hashlib.sha256(arn.encode()).hexdigest()[:12]


def server_name(index: int) -> str:
    return f"s{index + 1}"


def render(fronts: list[Front], backends: dict[str, list[Slot]], admin: Path) -> str:
    """The whole configuration, from the sandbox's current view. Pure, for the tests."""
    lines = [
        "global",
        "    maxconn 4096",  # fits the default open-files limit with room
        f"    stats socket {admin} mode 600 level admin",
        "    hard-stop-after 120s",
        "defaults",
        "    mode http",
        "    timeout connect 5s",
        "    timeout client 65s",
        "    timeout server 60s",  # an ALB's idle timeout
        "    timeout http-request 15s",
        "    timeout http-keep-alive 60s",
        "    option forwardfor",
        "    option dontlognull",
        "    retries 0",  # an ALB never re-sends a request to a second target
    ]
    for front in sorted(fronts, key=lambda f: f.port):
        tls = f" ssl crt {front.pem}" if front.pem is not None else ""
        lines += [f"frontend l-{front.key}", f"    bind {LOOPBACK}:{front.port}{tls}"]
        if front.redirect_port is not None:
            lines.append("    http-request redirect location "
                         f"https://%[req.hdr(host),field(1,:)]:{front.redirect_port}"
                         "%[capture.req.uri] code 301")
        if front.backend is not None:
            lines.append(f"    default_backend {front.backend}")
        else:
            lines.append("    http-request return status 503 content-type text/plain "
                         'string "503 Service Temporarily Unavailable: no target group\\n"')
    for name, slots in sorted(backends.items()):
        lines += [f"backend {name}", "    balance roundrobin"]
        for index, slot in enumerate(slots):
            address = f"{slot.address}:{slot.port}" if slot.address else "0.0.0.0:0"
            state = "" if slot.state == READY and slot.address else " disabled"
            weight = " weight 0" if slot.state == DRAIN else ""
            lines.append(f"    server {server_name(index)} {address}{weight}{state}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ServerStat:
    backend: str
    server: str
    current: int  # requests in flight (scur)
    status: str


def parse_stat(csv: str) -> list[ServerStat]:
    """`show stat`'s CSV: every server's in-flight count and status. Pure."""
    lines = [line for line in csv.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# "):
        return []
    header = lines[0][2:].split(",")
    at = {name: i for i, name in enumerate(header)}
    found = []
    for line in lines[1:]:
        cells = line.split(",")
        if len(cells) < len(header) or cells[at["svname"]] in ("FRONTEND", "BACKEND"):
            continue
        found.append(ServerStat(cells[at["pxname"]], cells[at["svname"]],
                                int(cells[at["scur"]] or 0), cells[at["status"]]))
    return found


class Haproxy:
    """The process and its master CLI. Calls are serialised; none calls back into anything."""

    def __init__(self, run_dir: Path, records: Records, clock: Clock | None = None) -> None:
        self.dir = run_dir / "haproxy"
        self.records = records
        self.clock = clock or RealClock()
        self.config = self.dir / "haproxy.cfg"
        self.admin = self.dir / "admin.sock"
        self.master = self.dir / "master.sock"
        self.lock = threading.Lock()
        self.pid: int | None = None
        self.text = ""
        self.slots: dict[tuple[str, int], Slot] = {}  # what the newest worker was told

    def start(self, text: str, slots: dict[tuple[str, int], Slot]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config.write_text(text)
        self.text, self.slots = text, dict(slots)
        argv = ["haproxy", "-W", "-db", "-f", str(self.config), "-S", f"{self.master},mode,600",
                "-p", str(self.dir / "pid"), "-L", MARKER]
        self.pid = start_daemon(self.records, "haproxy", str(self.config), argv,
                                self.dir / "haproxy.log")
        if not wait_until(lambda: self._worker_pid() is not None, clock=self.clock,
                          timeout=15.0, initial=0.05, cap=0.5):
            raise OperationFailed("hosts sandbox: haproxy did not start",
                                  detail=self._log_tail())

    def reload(self, text: str, slots: dict[tuple[str, int], Slot]) -> None:
        """A new configuration: the new worker takes the sockets, the old one finishes."""
        if text == self.text:
            return
        before = self._worker_pid()
        tmp = self.config.with_suffix(".new")
        tmp.write_text(text)
        tmp.replace(self.config)
        self.text, self.slots = text, dict(slots)
        with contextlib.suppress(TimeoutError):
            self._send(self.master, "reload", wait=2.0)  # the master may keep it open
        if not wait_until(lambda: self._worker_pid() not in (None, before), clock=self.clock,
                          timeout=15.0, initial=0.05, cap=0.5):
            raise OperationFailed("hosts sandbox: haproxy did not reload its configuration",
                                  detail=self._log_tail())

    def command(self, line: str) -> str:
        """One runtime API command on the newest worker (its own socket: a new worker binds
        it afresh when it starts)."""
        return self._send(self.admin, line)

    def set_slot(self, backend: str, index: int, slot: Slot) -> None:
        server = f"{backend}/{server_name(index)}"
        if slot.address:
            self.command(f"set server {server} addr {slot.address} port {slot.port}")
        self.command(f"set server {server} weight {0 if slot.state == DRAIN else 1}")
        state = slot.state if slot.address else MAINT
        self.command(f"set server {server} state {state}")
        self.slots[(backend, index)] = slot

    def stats(self) -> list[ServerStat]:
        return parse_stat(self.command("show stat"))

    def _worker_pid(self) -> int | None:
        try:
            info = self.command("show info")
        except OSError:
            return None
        for line in info.splitlines():
            if line.startswith("Pid:"):
                return int(line.split(":", 1)[1])
        return None

    def _send(self, path: Path, line: str, wait: float = 10.0) -> str:
        with self.lock, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(wait)
            self._connect(conn, path)
            conn.sendall(line.encode() + b"\n")
            chunks = []
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                chunks.append(data)
            return b"".join(chunks).decode(errors="replace")

    def _connect(self, conn: socket.socket, path: Path) -> None:
        """A socket refuses for a moment while its process (re)starts: a worker binds its
        admin socket afresh, the master re-executes itself on a reload."""
        deadline = self.clock.now() + CONNECT_PATIENCE
        while True:
            try:
                conn.connect(str(path))
                return
            except (ConnectionRefusedError, FileNotFoundError):
                if self.clock.now() >= deadline:
                    raise
                self.clock.sleep(0.05)

    def _log_tail(self) -> str:
        try:
            return (self.dir / "haproxy.log").read_text()[-2000:]
        except OSError:
            return ""

