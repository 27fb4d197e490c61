"""Waiting and retrying on an injected clock: exponential backoff, never a fixed sleep.

Tests pass a FakeClock, so a fifteen-minute wait runs in microseconds and its sleeps can
be read back. Imports errors, clock and the AWS error-code matcher (which needs no boto3).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from argos_cloud.aws.errors import error_code
from argos_cloud.clock import Clock
from argos_cloud.errors import AwsError, Interrupted, OperationFailed

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


def retry_on(codes: set[str] | frozenset[str], fn: Callable[[], T], *, clock: Clock,
             attempts: int, what: str, initial: float = 1.0, factor: float = 2.0,
             cap: float = 30.0) -> T:
    """Call `fn` again while it raises an AWS error whose code is in `codes`.

    For errors that time cures, e.g. DependencyViolation while a deleted instance still
    holds a security group. Any other error propagates at once; when the attempts run out
    an AwsError names the code and how many attempts were made.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    delays = Backoff(initial, factor, cap)
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as e:
            code = error_code(e)
            if code not in codes:
                raise
            if attempt == attempts:
                raise AwsError(what, code,
                               f"{_message(e)} (gave up after {attempts} attempts)") from e
        clock.sleep(next(delays))
    raise AssertionError("unreachable")  # the loop returns or raises


def _message(e: BaseException) -> str:
    response = getattr(e, "response", None)
    text = ""
    if isinstance(response, dict):
        text = str(response.get("Error", {}).get("Message", ""))
    text = (text or str(e)).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _last(state: object) -> str:
    text = repr(state)
    return f"last state: {text[:500]}{'…' if len(text) > 500 else ''}"
