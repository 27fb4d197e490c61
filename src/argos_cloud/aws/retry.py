"""Retrying AWS calls whose error time cures, by error code (the wait itself is `waiting`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from argos_cloud.aws.errors import error_code, error_message
from argos_cloud.clock import Clock
from argos_cloud.errors import AwsError
from argos_cloud.waiting import retry

T = TypeVar("T")


def retry_on(codes: set[str] | frozenset[str], fn: Callable[[], T], *, clock: Clock,
             attempts: int, what: str, initial: float = 1.0, factor: float = 2.0,
             cap: float = 30.0) -> T:
    """Call `fn` again while it raises an AWS error whose code is in `codes`.

    For errors that time cures, e.g. DependencyViolation while a deleted instance still
    holds a security group. Any other error propagates at once; when the attempts run out
    an AwsError names the code and how many attempts were made.
    """
    try:
        return retry(fn, retryable=lambda e: error_code(e) in codes, clock=clock,
                     attempts=attempts, initial=initial, factor=factor, cap=cap)
    except Exception as e:
        code = error_code(e)
        if code not in codes:
            raise
        raise AwsError(what, code,
                       f"{error_message(e)} (gave up after {attempts} attempts)") from e


def made_once(create: Callable[[], T], find: Callable[[], T | None], *, attempts: int = 3) -> T:
    """Send a create that has no client token, so that a lost answer never makes a twin.

    After a lost answer (AWS may have acted), `find()` looks for what the create made,
    by a tag the request set at creation; only when nothing is found is it sent again.
    """
    from argos_cloud.aws.errors import is_lost_answer

    for attempt in range(1, attempts + 1):
        try:
            return create()
        except Exception as e:
            if not is_lost_answer(e):
                raise
            found = find()
            if found is not None:
                return found
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")  # the loop returns or raises
