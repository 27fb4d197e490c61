"""The environment lock: one operation at a time, held in AWS, naming its holder.

The lock is an SSM parameter `/argos-cloud/<project>/<env>/lock` created with
Overwrite=False, so every operator on every machine sees the same lock and
its holder, host, operation, commit, start and expiry (anchors item 2).
A lock whose lease ran out is reported stale, and broken only on request.

Imports nothing of AWS: the store is passed in (aws/store.py in production).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

from argos_cloud.clock import Clock, utc_now
from argos_cloud.errors import LockHeld, OperationFailed
from argos_cloud.model.names import Scope

log = logging.getLogger(__name__)

LOCK_LEAF = "lock"
UNREADABLE = "unreadable lock record"


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


def who_am_i() -> str:
    """`user@host` of this process, for lock and journal records."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no LOGNAME/USER and no passwd entry (containers)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True)
class LockRecord:
    """JSON in the lock parameter; (who, pid, created) identifies one holder."""

    who: str  # user@host
    operation: str  # commission, deploy, …
    created: str  # ISO UTC
    expires: str  # ISO UTC
    pid: int
    commit: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> LockRecord:
        """Parse a record; ValueError when it is not one of ours."""
        try:
            raw: Any = json.loads(text)
            return cls(who=str(raw["who"]), operation=str(raw["operation"]),
                       created=str(raw["created"]), expires=str(raw["expires"]),
                       pid=int(raw["pid"]),
                       commit=None if raw.get("commit") is None else str(raw["commit"]))
        except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as e:
            raise ValueError(f"not a lock record: {e}") from None

    def same_holder(self, other: LockRecord | None) -> bool:
        return other is not None and (self.who, self.pid, self.created) == (
            other.who, other.pid, other.created)

    def is_stale(self, now: datetime) -> bool:
        """True when the lease ran out (or cannot be read): safe to break on request."""
        try:
            return now >= parse_utc(self.expires)
        except ValueError:
            return True


class EnvironmentLock:
    """Serialises operations on one environment; use as `with lock:`."""

    def __init__(self, store: ParameterStoreLike, scope: Scope, *, who: str, operation: str,
                 lease_seconds: int = 3600, now: Callable[[], datetime] = utc_now,
                 pid: int | None = None, commit: str | None = None) -> None:
        self._store = store
        self._scope = scope
        self._who = who
        self._operation = operation
        self._lease = timedelta(seconds=lease_seconds)
        self._now = now
        self._pid = os.getpid() if pid is None else pid
        self._commit = commit
        self._mine: LockRecord | None = None

    @property
    def name(self) -> str:
        return self._scope.parameter(LOCK_LEAF)

    @property
    def record(self) -> LockRecord | None:
        """Our record while we hold the lock."""
        return self._mine

    def acquire(self, *, wait_seconds: float = 0, clock: Clock | None = None,
                poll_seconds: float = 5) -> LockRecord:
        """Take the lock, or raise LockHeld naming the holder.

        With `wait_seconds` (the CLI's --lock-wait) it polls on `clock` until
        the holder releases; a stale lock is still never broken here.
        """
        waited = 0.0
        while True:
            try:
                return self._try_acquire()
            except LockHeld:
                if clock is None or waited >= wait_seconds:
                    raise
            step = min(poll_seconds, wait_seconds - waited)
            clock.sleep(step)
            waited += step

    def _try_acquire(self) -> LockRecord:
        for _ in range(3):  # the holder may release between our create and our read
            now = self._now()
            record = LockRecord(who=self._who, operation=self._operation, created=iso_utc(now),
                                expires=iso_utc(now + self._lease), pid=self._pid,
                                commit=self._commit)
            if self._store.create(self.name, record.to_json(), tags=self._scope.tags("lock")):
                self._mine = record
                log.debug("lock %s acquired by %s", self.name, self._who)
                return record
            holder = self.holder()
            if holder is not None:
                raise LockHeld(self._environment(), holder.who, holder.operation,
                               holder.created, stale=holder.is_stale(now))
        raise OperationFailed(f"could not take the lock {self.name}: it keeps changing hands")

    def release(self) -> bool:
        """Delete the lock if it is still ours; False when it is not (broken or taken over).

        SSM has no compare-and-delete: read, compare, delete is the best it
        allows, so a break-and-retake landing between our read and our delete
        could still be deleted. The window is one round trip.
        """
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
        if self._mine is None:
            raise OperationFailed(f"cannot refresh {self.name}: this process holds no lock")
        current = self.holder()
        if not self._mine.same_holder(current):
            self._mine = None
            if current is None:
                raise OperationFailed(f"the lock on {self._environment()} was broken")
            raise LockHeld(self._environment(), current.who, current.operation,
                           current.created, stale=current.is_stale(self._now()))
        renewed = replace(self._mine, expires=iso_utc(self._now() + self._lease))
        self._store.put(self.name, renewed.to_json())  # same check-then-write window as release
        self._mine = renewed
        return renewed

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

    def _environment(self) -> str:
        return self._scope.environment or f"{self._scope.project} (shared)"

    def __enter__(self) -> EnvironmentLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
