"""Waiting and retrying on an injected clock: exponential backoff, never a fixed sleep.

Tests pass a FakeClock, so a fifteen-minute wait runs in microseconds and its sleeps can
be read back. Imports only `clock` and `errors`: which errors time cures is the caller's
to say (`aws/retry.py` says it for AWS error codes), so every layer may wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from argos_cloud.clock import Clock
from argos_cloud.errors import Interrupted, OperationFailed

T = TypeVar("T")


class Backoff:
    """Delays `initial`, `initial*factor`, … capped at `cap`; endless, so pair it with a limit."""

    def __init__(self, initial: float = 1.0, factor: float = 1.5, cap: float = 15.0) -> None:
        if initial <= 0 or factor < 1 or cap < initial:
            raise ValueError(
                f"bad backoff: initial={initial}, factor={factor}, cap={cap} "
                "(need initial > 0, factor >= 1, cap >= initial)")
        self.initial, self.factor, self.cap = initial, factor, cap
        self._next = initial

    def __iter__(self) -> Iterator[float]:
        return self

    def __next__(self) -> float:
        delay = self._next
        self._next = min(self._next * self.factor, self.cap)
        return delay


def wait_for(describe: Callable[[], T], done: Callable[[T], bool], *, clock: Clock,
             timeout: float, what: str, failed: Callable[[T], str | None] | None = None,
             initial: float = 1.0, factor: float = 1.5, cap: float = 15.0,
             stop: threading.Event | None = None) -> T:
    """Poll `describe()` until `done(state)`, and return that state.

    Raises OperationFailed when `failed(state)` gives a reason (no point waiting on a
    terminated instance) or when `timeout` seconds pass; the last sleep is cut so the
    final look happens at the deadline. A set `stop` raises Interrupted between polls.
    """
    delays = Backoff(initial, factor, cap)
    deadline = clock.now() + timeout
    while True:
        state = describe()
        if done(state):
            return state
        reason = failed(state) if failed is not None else None
        if reason:
            raise OperationFailed(f"{what} failed: {reason}", detail=_last(state))
        remaining = deadline - clock.now()
        if remaining <= 0:
            raise OperationFailed(f"timed out after {timeout:g} s waiting for {what}",
                                  detail=_last(state))
        if stop is not None and stop.is_set():
            raise Interrupted(f"interrupted while waiting for {what}")
        clock.sleep(min(next(delays), remaining))


def wait_until(condition: Callable[[], bool], *, clock: Clock, timeout: float,
               initial: float = 0.1, factor: float = 1.5, cap: float = 2.0) -> bool:
    """Poll `condition()` with backoff: True once it holds, False when `timeout` passed.

    For waits whose caller decides what running out of time means (a process that may
    outlive its SIGKILL, a command still running); `wait_for` raises instead.
    """
    delays = Backoff(initial, factor, cap)
    deadline = clock.now() + timeout
    while True:
        if condition():
            return True
        remaining = deadline - clock.now()
        if remaining <= 0:
            return False
        clock.sleep(min(next(delays), remaining))


def retry(fn: Callable[[], T], *, retryable: Callable[[Exception], bool], clock: Clock,
          attempts: int, initial: float = 1.0, factor: float = 2.0, cap: float = 30.0) -> T:
    """Call `fn` again, after a backoff, while it raises an error `retryable` accepts.

    For errors that time cures. Any other error propagates at once; when the attempts
    run out the last retryable error propagates, so the caller can name what gave up.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    delays = Backoff(initial, factor, cap)
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as e:
            if attempt == attempts or not retryable(e):
                raise
        clock.sleep(next(delays))
    raise AssertionError("unreachable")  # the loop returns or raises


def _last(state: object) -> str:
    text = repr(state)
    return f"last state: {text[:500]}{'…' if len(text) > 500 else ''}"
