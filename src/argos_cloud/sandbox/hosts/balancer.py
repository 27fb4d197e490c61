"""Application load balancers that really balance: HAProxy carries the traffic, we decide who.

Each listener of moto's load balancers is a frontend of one HAProxy process
(`haproxy.py`) on 127.0.0.1; each target group a backend whose server slots
are the group's registered targets. The data path never enters Python: no
request waits on a lock of ours, and HAProxy's event loop serves every
connection.

What the tool depends on follows an ALB's rules, decided here:

- a target serves only once the group's own health check (path, port,
  interval, timeout, thresholds, matcher, checked for real from this
  computer) calls it healthy; one that stops answering is taken out after
  interval x unhealthy threshold (`judge`);
- a deregistered target (gone from the group, its instance in Standby or
  terminating) is *draining*: HAProxy sends it no new request and lets those in
  flight finish; the drain ends at once when none is in flight, else after the
  group's `deregistration_delay.timeout_seconds`; DescribeTargetHealth says
  `draining` meanwhile.

Locks, in the only order they are taken: the hosts backend's lock (held when
it calls `update`), then `Balancers.lock`, then `Haproxy.lock` (a leaf: it
only talks to HAProxy's socket). Nothing here calls back into the backend:
`update` is handed the targets' addresses, and the health checks run in a
bounded pool without any lock held.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from argos_cloud.sandbox.hosts.haproxy import (
    DRAIN,
    LOOPBACK,
    MAINT,
    READY,
    SLOTS,
    Front,
    Haproxy,
    Slot,
    render,
    server_name,
    short,
)

CHECKERS = 16  # health checks at once, whatever the number of targets
TICK = 0.25  # seconds between looks at what is due
DEFAULT_DELAY = 300.0  # an ALB's default deregistration delay


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
    targets: tuple[tuple[str, int], ...]  # (instance id, port) as registered
    delay: float = DEFAULT_DELAY  # deregistration_delay.timeout_seconds


@dataclass(frozen=True)
class ListenerView:
    arn: str
    balancer_arn: str
    port: int
    group_arn: str | None
    pem: Path | None = None  # HTTPS: the certificate chain and key HAProxy serves
    redirect_to: str | None = None  # an HTTP listener redirecting to this listener ARN


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
class Member:
    """A target of a group as the balancer holds it: its slot, health and drain."""

    target_id: str
    port: int
    slot: int
    address: str | None = None
    health: Health = field(default_factory=Health)
    draining_since: float | None = None
    checking: bool = False

    def slot_state(self) -> str:
        if self.address is None:
            return MAINT
        if self.draining_since is not None:
            return DRAIN
        return READY if self.health.state == "healthy" else MAINT


def free_port() -> int:
    """A loopback port nothing listens on now, for a new listener."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@dataclass
class Balancers:
    """The health checks, the drains and HAProxy's configuration, from moto's records."""

    haproxy: Haproxy
    clock: Callable[[], float] = time.monotonic
    groups: dict[str, GroupView] = field(default_factory=dict)
    members: dict[tuple[str, str], Member] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)  # listener arn -> loopback port
    listeners: list[ListenerView] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopped: threading.Event = field(default_factory=threading.Event)
    pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(CHECKERS, thread_name_prefix="target-check"))
    drained: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.drained = threading.Condition(self.lock)

    def start(self) -> None:
        self.haproxy.start(*self._wanted())
        threading.Thread(target=self._loop, name="target-health", daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()
        self.pool.shutdown(wait=False, cancel_futures=True)

    # -- following moto -------------------------------------------------------------

    def update(self, groups: list[GroupView], listeners: list[ListenerView],
               addresses: dict[str, str], leaving: set[str]) -> dict[str, int]:
        """Follow moto's records. `addresses`: instance id -> address of the machines that
        answer; `leaving`: instances in Standby or terminating, deregistered as on AWS.
        Returns balancer arn -> the port its first listener answers on."""
        with self.lock:
            now = self.clock()
            self.groups = {g.arn: g for g in groups}
            wanted: dict[tuple[str, str], int] = {}
            for group in groups:
                for target_id, port in group.targets:
                    if target_id not in leaving:
                        wanted[(group.arn, target_id)] = port
            for key, member in list(self.members.items()):
                if key not in wanted and member.draining_since is None:
                    serving = member.slot_state() == READY
                    member.draining_since = now
                    if not serving:
                        self._free(key)  # it was sent nothing: nothing to drain
                elif key in wanted and member.draining_since is not None:
                    member.draining_since = None  # registered again: checked afresh
                    member.health = Health()
            for key, port in wanted.items():
                if key not in self.members:
                    slot = self._free_slot(key[0])
                    if slot is not None:
                        self.members[key] = Member(key[1], port, slot)
            for (_, target_id), member in self.members.items():
                if member.draining_since is None:  # a drain keeps the address it had
                    member.address = addresses.get(target_id)
            for listener in listeners:
                self.ports.setdefault(listener.arn, free_port())
            for arn in [a for a in self.ports if a not in {li.arn for li in listeners}]:
                del self.ports[arn]
            self.listeners = list(listeners)
            self._apply()
            found: dict[str, int] = {}
            for listener in sorted(listeners, key=lambda li: li.port):
                found.setdefault(listener.balancer_arn, self.ports[listener.arn])
            return found

    def state_of(self, group_arn: str, target_id: str) -> Health | None:
        """The verdict DescribeTargetHealth gives, `draining` included."""
        with self.lock:
            member = self.members.get((group_arn, target_id))
            if member is None:
                return None
            if member.draining_since is not None:
                return Health("draining", "Target.DeregistrationInProgress")
            return Health(member.health.state, member.health.reason)

    def draining(self, group_arn: str) -> list[tuple[str, int]]:
        """The group's targets still draining: AWS lists them until the drain ends."""
        with self.lock:
            return [(m.target_id, m.port) for (g, _), m in self.members.items()
                    if g == group_arn and m.draining_since is not None]

    def wait_drained(self, target_id: str, timeout: float) -> bool:
        """Until no group drains `target_id` (an instance about to power off)."""
        deadline = self.clock() + timeout
        with self.lock:
            while any(k[1] == target_id and m.draining_since is not None
                      for k, m in self.members.items()):
                left = deadline - self.clock()
                if left <= 0 or self.stopped.is_set():
                    return False
                self.drained.wait(min(left, 1.0))
            return True

    # -- HAProxy ----------------------------------------------------------------------

    def _backend(self, group_arn: str) -> str:
        return f"g-{short(group_arn)}"

    def _slots(self, group_arn: str) -> list[Slot]:
        slots = [Slot(None, 0, MAINT) for _ in range(SLOTS)]
        for (g, _), member in self.members.items():
            if g == group_arn:
                slots[member.slot] = Slot(member.address, member.port, member.slot_state())
        return slots

    def _wanted(self) -> tuple[str, dict[tuple[str, int], Slot]]:
        """HAProxy's configuration and every slot, from what we hold now. Under self.lock."""
        by_arn = {li.arn: li for li in self.listeners}
        fronts = []
        for listener in self.listeners:
            backend = (self._backend(listener.group_arn)
                       if listener.group_arn in self.groups else None)
            redirect = (self.ports.get(listener.redirect_to)
                        if listener.redirect_to in by_arn else None)
            fronts.append(Front(short(listener.arn), self.ports[listener.arn],
                                None if redirect else backend, listener.pem, redirect))
        backends = {self._backend(arn): self._slots(arn) for arn in self.groups}
        slots = {(name, i): slot for name, row in backends.items() for i, slot in enumerate(row)}
        return render(fronts, backends, self.haproxy.admin), slots

    def _apply(self) -> None:
        """Make HAProxy match: a reload when listeners or groups changed, else runtime
        commands for the slots that changed. Under self.lock."""
        text, slots = self._wanted()
        if _shape(text) != _shape(self.haproxy.text):
            self.haproxy.reload(text, slots)
            return
        for (backend, index), slot in slots.items():
            if self.haproxy.slots.get((backend, index)) != slot:
                self.haproxy.set_slot(backend, index, slot)
        self.haproxy.text = text

    def _free_slot(self, group_arn: str) -> int | None:
        used = {m.slot for (g, _), m in self.members.items() if g == group_arn}
        return next((i for i in range(SLOTS) if i not in used), None)

    def _free(self, key: tuple[str, str]) -> None:
        self.members.pop(key, None)
        self.drained.notify_all()

    # -- health checks and drains -------------------------------------------------------

    def _loop(self) -> None:
        while not self.stopped.wait(TICK):
            try:
                self._tick()
            except Exception:  # a bad tick must not end the checks; the next one retries
                continue

    def _tick(self) -> None:
        now = self.clock()
        with self.lock:
            due = []
            for (group_arn, _), member in self.members.items():
                group = self.groups.get(group_arn)
                if group is None or member.draining_since is not None or member.checking \
                        or member.health.due > now:
                    continue
                member.checking = True
                member.health.due = now + group.interval
                due.append((group, member))
            draining = [(k, m) for k, m in self.members.items() if m.draining_since is not None]
        for group, member in due:
            self.pool.submit(self._check, group, member)
        if draining:
            self._end_drains(draining, now)

    def _check(self, group: GroupView, member: Member) -> None:
        address = member.address
        check_port = member.port if group.check_port == "traffic-port" else int(group.check_port)
        passed = False
        if address:
            connection = http.client.HTTPConnection(address, check_port, timeout=group.timeout)
            try:
                connection.request("GET", group.path or "/",
                                   headers={"User-Agent": "ELB-HealthChecker/2.0"})
                passed = matches(group.matcher, connection.getresponse().status)
            except (OSError, http.client.HTTPException):
                passed = False
            finally:
                connection.close()
        with self.lock:
            member.checking = False
            if self.members.get((group.arn, member.target_id)) is not member:
                return
            before = member.slot_state()
            judge(member.health, passed, group)
            if member.slot_state() != before:
                with contextlib.suppress(OSError):
                    self._apply()

    def _end_drains(self, draining: list[tuple[tuple[str, str], Member]], now: float) -> None:
        try:
            busy = {(s.backend, s.server): s.current for s in self.haproxy.stats()}
        except OSError:
            busy = {}
        with self.lock:
            changed = False
            for key, member in draining:
                if self.members.get(key) is not member or member.draining_since is None:
                    continue
                group = self.groups.get(key[0])
                delay = group.delay if group is not None else 0.0
                in_flight = busy.get((self._backend(key[0]), server_name(member.slot)), 0)
                if in_flight == 0 or now - member.draining_since >= delay:
                    self._free(key)
                    changed = True
            if changed:
                with contextlib.suppress(OSError):
                    self._apply()


def _shape(text: str) -> list[str]:
    """The configuration without its server lines' states: what needs a reload to change."""
    return [line for line in text.splitlines() if not line.strip().startswith("server ")]
