"""The environment lock: one operation at a time, held in AWS, naming its holder.

The lock is an SSM parameter `/argos-cloud/<project>/<env>/lock` created with
Overwrite=False, so every operator on every machine sees the same lock and
its holder, host, operation, commit, start and expiry: a lock on one laptop
protects nothing, and a nameless one cannot be judged stale or broken safely.

A lock knows its own: each run writes a random token, so a run whose
PutParameter answer was lost still recognises the lock it made. A lock
whose holder ran on this host and is no longer alive is stale at once; a
holder elsewhere is stale when its lease (minutes) runs out: the run refreshes
it as it makes progress (`keep_alive`, called by workflows/operation.py on every
step event, progress message and wait), and a heartbeat thread backs that up for
a call that blocks without a sign of progress. A stale lock is taken over, with a note
naming it, so a plain re-run after `kill -9` needs no `unlock`.

Imports nothing of AWS: the store is passed in (aws/store.py in production).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

from argos_cloud.clock import Clock, utc_now
from argos_cloud.errors import LockHeld, OperationFailed
from argos_cloud.model.names import Scope
from argos_cloud.processes import process_alive, process_start

log = logging.getLogger(__name__)

LOCK_LEAF = "lock"
UNREADABLE = "unreadable lock record"
LEASE_SECONDS = 300  # a holder elsewhere that stops refreshing is stale after 5 minutes
HEARTBEATS_PER_LEASE = 3


class ParameterStoreLike(Protocol):
    """What the lock and the journal need from a parameter store (aws.store.ParameterStore)."""

    def create(self, name: str, value: str, *, secure: bool = False,
               tags: Mapping[str, str] | None = None) -> bool: ...
    def put(self, name: str, value: str, *, secure: bool = False,
            tags: Mapping[str, str] | None = None) -> None: ...
    def get(self, name: str, *, decrypt: bool = False) -> str | None: ...
    def delete(self, name: str) -> bool: ...
    def list_path(self, path: str, *, decrypt: bool = False) -> dict[str, str]: ...
    def delete_many(self, names: Iterable[str]) -> list[str]: ...


def iso_utc(moment: datetime) -> str:
    """Second-precision ISO-8601 UTC, the spelling of every record."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def this_host() -> str:
    return socket.gethostname()


def who_am_i() -> str:
    """`user@host` of this process, for lock and journal records."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no LOGNAME/USER and no passwd entry (containers)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True)
class LockRecord:
    """JSON in the lock parameter; the token identifies one holder (one run)."""

    who: str  # user@host
    operation: str  # commission, deploy, …
    created: str  # ISO UTC
    expires: str  # ISO UTC
    pid: int
    commit: str | None = None
    token: str = ""  # random per run: a lost PutParameter answer cannot hide our own lock
    host: str = ""
    pid_start: str | None = None  # the process's start (/proc): pid reuse is not a holder

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> LockRecord:
        """Parse a record; ValueError when it is not one of ours."""
        try:
            raw: Any = json.loads(text)
            who = str(raw["who"])
            return cls(who=who, operation=str(raw["operation"]),
                       created=str(raw["created"]), expires=str(raw["expires"]),
                       pid=int(raw["pid"]),
                       commit=None if raw.get("commit") is None else str(raw["commit"]),
                       token=str(raw.get("token") or ""),
                       host=str(raw.get("host") or who.rpartition("@")[2]),
                       pid_start=None if raw.get("pid_start") is None
                       else str(raw["pid_start"]))
        except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as e:
            raise ValueError(f"not a lock record: {e}") from None

    def same_holder(self, other: LockRecord | None) -> bool:
        if other is None:
            return False
        if self.token or other.token:
            return self.token == other.token
        return (self.who, self.pid, self.created) == (other.who, other.pid, other.created)

    def lease_expired(self, now: datetime) -> bool:
        try:
            return now >= parse_utc(self.expires)
        except ValueError:
            return True

    def stale_reason(self, now: datetime, host: str) -> str | None:
        """Why this holder is gone (safe to take over), or None while it may be alive."""
        if self.operation == UNREADABLE:
            return None  # nobody we can judge: it blocks until broken explicitly
        if self.host == host and not process_alive(self.pid, self.pid_start):
            return f"its process {self.pid} on {host} is no longer running"
        if self.lease_expired(now):
            return f"its lease ran out at {self.expires} (no heartbeat since)"
        return None

    def is_stale(self, now: datetime, host: str | None = None) -> bool:
        """True when the holder is gone: dead on this host, or its lease ran out."""
        return self.stale_reason(now, this_host() if host is None else host) is not None

    def describe(self) -> str:
        """`user@host (operation, pid N) since …`, for notes and questions."""
        return f"{self.who} ({self.operation}, pid {self.pid}) since {self.created}"


class EnvironmentLock:
    """Serialises operations on one environment; use as `with lock:`."""

    def __init__(self, store: ParameterStoreLike, scope: Scope, *, who: str, operation: str,
                 lease_seconds: int = LEASE_SECONDS, now: Callable[[], datetime] = utc_now,
                 pid: int | None = None, commit: str | None = None,
                 host: str | None = None, wait_seconds: float = 0,
                 clock: Clock | None = None, heartbeat: bool = False,
                 on_note: Callable[[str], None] | None = None) -> None:
        self._store = store
        self._scope = scope
        self._who = who
        self._operation = operation
        self._lease = timedelta(seconds=lease_seconds)
        self._now = now
        self._pid = os.getpid() if pid is None else pid
        self._host = this_host() if host is None else host
        self._commit = commit
        self._token = secrets.token_hex(16)
        self._wait = wait_seconds
        self._clock = clock
        self._heartbeat_wanted = heartbeat
        self._on_note = on_note or (lambda text: None)
        self._mine: LockRecord | None = None
        self._beat_stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._refreshing = threading.Lock()  # one keep-alive write at a time
        self.taken_over: LockRecord | None = None  # the stale holder this run replaced

    @property
    def name(self) -> str:
        return self._scope.parameter(LOCK_LEAF)

    @property
    def record(self) -> LockRecord | None:
        """Our record while we hold the lock."""
        return self._mine

    def acquire(self, *, wait_seconds: float | None = None, clock: Clock | None = None,
                poll_seconds: float = 5) -> LockRecord:
        """Take the lock, or raise LockHeld naming the holder.

        A stale holder (dead on this host, or its lease ran out) is taken over.
        With `wait_seconds` (the CLI's --lock-wait) it polls on `clock` until
        the live holder releases or goes stale.
        """
        wait = self._wait if wait_seconds is None else wait_seconds
        clock = clock or self._clock
        waited = 0.0
        while True:
            try:
                record = self._try_acquire()
                if self._heartbeat_wanted:
                    self._start_heartbeat()
                return record
            except LockHeld:
                if clock is None or waited >= wait:
                    raise
            step = min(poll_seconds, wait - waited)
            clock.sleep(step)
            waited += step

    def _new_record(self) -> LockRecord:
        now = self._now()
        return LockRecord(who=self._who, operation=self._operation, created=iso_utc(now),
                          expires=iso_utc(now + self._lease), pid=self._pid,
                          commit=self._commit, token=self._token, host=self._host,
                          pid_start=process_start(self._pid))

    def _create(self, record: LockRecord) -> bool:
        """Create the parameter; after a lost answer, our token says whether it is ours.

        The store reads back after a lost answer; the token check here also covers a
        store that only said "already exists" (a resend of our own create).
        """
        made = self._store.create(self.name, record.to_json(), tags=self._scope.tags("lock"))
        return made or record.same_holder(self.holder())

    def _try_acquire(self) -> LockRecord:
        for _ in range(3):  # the holder may release between our create and our read
            record = self._new_record()
            if self._create(record):
                self._mine = record
                log.debug("lock %s acquired by %s", self.name, self._who)
                return record
            holder = self.holder()
            if holder is None:
                continue
            reason = holder.stale_reason(self._now(), self._host)
            if reason is None:
                raise LockHeld(self._environment(), holder.who, holder.operation,
                               holder.created, stale=holder.operation == UNREADABLE)
            self._take_over(holder, reason)
        raise OperationFailed(f"could not take the lock {self.name}: it keeps changing hands")

    def _take_over(self, stale: LockRecord, reason: str) -> None:
        """Delete a stale holder's lock if it is still that holder's; say so."""
        if not stale.same_holder(self.holder()):
            return  # it changed meanwhile: try again from the top
        self._store.delete(self.name)  # SSM has no compare-and-delete: one round trip
        self.taken_over = stale
        note = (f"took over the lock of {stale.describe()}: {reason}")
        log.warning("%s", note)
        self._on_note(note)

    def release(self) -> bool:
        """Delete the lock if it is still ours; False when it is not (broken or taken over).

        SSM has no compare-and-delete: read, compare, delete is the best it
        allows, so a break-and-retake landing between our read and our delete
        could still be deleted. The window is one round trip.
        """
        self._stop_heartbeat()
        with self._refreshing:  # a keep-alive write in flight lands first, none follows
            mine, self._mine = self._mine, None
        if mine is None:
            return False
        current = self.holder()
        if not mine.same_holder(current):
            log.warning("lock %s is no longer ours (now %s); left in place", self.name,
                        current.who if current else "nobody")
            return False
        return self._store.delete(self.name)

    def refresh(self) -> LockRecord:
        """Extend our lease; raise when the lock was broken or taken over meanwhile."""
        mine = self._mine
        if mine is None:
            raise OperationFailed(f"cannot refresh {self.name}: this process holds no lock")
        current = self.holder()
        if not mine.same_holder(current):
            self._mine = None
            if current is None:
                raise OperationFailed(f"the lock on {self._environment()} was broken")
            raise LockHeld(self._environment(), current.who, current.operation,
                           current.created)
        renewed = replace(mine, expires=iso_utc(self._now() + self._lease))
        self._store.put(self.name, renewed.to_json())  # same check-then-write window as release
        self._mine = renewed
        return renewed

    def keep_alive(self) -> bool:
        """Refresh the lease once a third of it has passed since the last write; True if written.

        Called on every sign of progress (a step event, a progress message, a wait's
        sleep), from any thread, so it is cheap when not due: the due time comes from
        our own record and the injected `now`, which makes it exact under a fake clock.
        A lock found broken or taken over is said once and not written again.
        """
        mine = self._mine
        if mine is None:  # none taken, released, or found broken (refresh let go of it)
            return False
        try:
            due = parse_utc(mine.expires) - self._lease * (1 - 1 / HEARTBEATS_PER_LEASE)
        except ValueError:
            due = self._now()
        if self._now() < due or not self._refreshing.acquire(blocking=False):
            return False  # not due, or another thread is writing it right now
        try:
            self.refresh()
            return True
        except (LockHeld, OperationFailed) as e:
            log.warning("lock %s: %s", self.name, e)
            self._on_note(f"the lock was lost while this run worked: {e}")
            return False
        except Exception as e:  # a lost answer or throttle: the next progress tries again
            log.debug("lock %s: refresh failed: %s", self.name, e)
            return False
        finally:
            self._refreshing.release()

    def _start_heartbeat(self) -> None:
        """Refresh the lease every third of it while the run works (a daemon thread)."""
        interval = max(1.0, self._lease.total_seconds() / HEARTBEATS_PER_LEASE)
        self._beat_stop.clear()

        def beat() -> None:
            while not self._beat_stop.wait(interval) and self._mine is not None:
                self.keep_alive()  # due by now unless progress refreshed it meanwhile

        self._beat = threading.Thread(target=beat, name="argos-lock-heartbeat", daemon=True)
        self._beat.start()

    def _stop_heartbeat(self) -> None:
        self._beat_stop.set()
        beat, self._beat = self._beat, None
        if beat is not None and beat is not threading.current_thread():
            beat.join(timeout=10)

    def break_lock(self) -> LockRecord | None:
        """Delete whatever lock is there, ours or not, readable or not; return what it was."""
        current = self.holder()
        deleted = self._store.delete(self.name)
        if self._mine is not None and self._mine.same_holder(current):
            self._mine = None
        if current is not None:
            log.warning("lock %s broken (was %s, %s)", self.name, current.who, current.operation)
        return current if deleted else None

    def holder(self) -> LockRecord | None:
        """The current holder, or None when unlocked; an unreadable record still counts."""
        text = self._store.get(self.name)
        if text is None:
            return None
        try:
            return LockRecord.from_json(text)
        except ValueError:
            return LockRecord(who="unknown", operation=UNREADABLE, created="unknown",
                              expires="", pid=0)

    def holder_alive(self) -> LockRecord | None:
        """The holder when it may still be working (not stale), else None."""
        holder = self.holder()
        if holder is None or holder.is_stale(self._now(), self._host):
            return None
        return holder

    def _environment(self) -> str:
        return self._scope.environment or f"{self._scope.project} (shared)"

    def __enter__(self) -> EnvironmentLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
