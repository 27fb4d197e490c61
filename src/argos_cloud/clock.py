"""Time as a dependency, so waits and backoff run on a fake clock in tests."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class RealClock:
    """Wall-clock time."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class FakeClock:
    """A clock that jumps: `sleep` advances time at once (thread-safe)."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
            self.slept.append(seconds)

    def advance(self, seconds: float) -> None:
        self.sleep(seconds)


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc_stamp() -> str:
    """ISO-8601 UTC, second precision, for records and tags."""
    return utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")
