"""Waits and retries on a fake clock: backoff grows, timeouts and failures are typed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from itertools import islice
from typing import Any

import pytest

from argos_cloud.aws.retry import retry_on
from argos_cloud.clock import FakeClock
from argos_cloud.errors import AwsError, Interrupted, OperationFailed
from argos_cloud.waiting import Backoff, retry, wait_for


class FakeClientError(Exception):
    """Shaped like botocore's ClientError where error_code() looks."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"An error occurred ({code}): {message}")
        self.response: dict[str, Any] = {"Error": {"Code": code, "Message": message}}


def scripted(*states: str) -> Iterator[str]:
    yield from states
    while True:
        yield states[-1]


def test_backoff_grows_by_its_factor_up_to_the_cap() -> None:
    assert list(islice(Backoff(1.0, 2.0, 5.0), 5)) == [1.0, 2.0, 4.0, 5.0, 5.0]
    with pytest.raises(ValueError):
        Backoff(initial=0)


def test_wait_for_returns_the_done_state_and_its_sleeps_grow() -> None:
    clock = FakeClock()
    states = scripted("pending", "pending", "pending", "running")
    state = wait_for(lambda: next(states), lambda s: s == "running", clock=clock,
                     timeout=300, what="instance i-1 running")
    assert state == "running"
    assert clock.slept == [1.0, 1.5, 2.25]


def test_wait_for_times_out_at_the_deadline() -> None:
    clock = FakeClock()
    looks: list[float] = []

    def describe() -> str:
        looks.append(clock.now())
        return "pending"

    with pytest.raises(OperationFailed, match=r"timed out after 10 s waiting for db volume"):
        wait_for(describe, lambda s: s == "available", clock=clock, timeout=10,
                 what="db volume", initial=1, factor=2)
    assert clock.slept == [1, 2, 4, 3]  # the last sleep is cut to the deadline
    assert looks == [0, 1, 3, 7, 10]


def test_wait_for_stops_at_a_failure_reason() -> None:
    clock = FakeClock()
    states = scripted("pending", "terminated")
    with pytest.raises(OperationFailed, match="instance i-1 running failed: it terminated") as e:
        wait_for(lambda: next(states), lambda s: s == "running", clock=clock, timeout=300,
                 what="instance i-1 running",
                 failed=lambda s: "it terminated" if s == "terminated" else None)
    assert clock.slept == [1.0]
    assert "terminated" in (e.value.detail or "")


def test_wait_for_gives_up_between_polls_when_stopped() -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(Interrupted):
        wait_for(lambda: "pending", lambda s: False, clock=FakeClock(), timeout=60,
                 what="anything", stop=stop)


def test_retry_on_retries_dependency_violation_then_succeeds() -> None:
    clock = FakeClock()
    calls: list[int] = []

    def delete_group() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise FakeClientError("DependencyViolation", "resource sg-1 has a dependent object")
        return "deleted"

    assert retry_on({"DependencyViolation"}, delete_group, clock=clock, attempts=5,
                    what="delete sg-1") == "deleted"
    assert len(calls) == 3 and clock.slept == [1.0, 2.0]


def test_retry_on_reraises_other_codes_at_once() -> None:
    clock = FakeClock()
    calls: list[int] = []

    def delete_group() -> None:
        calls.append(1)
        raise FakeClientError("UnauthorizedOperation", "no")

    with pytest.raises(FakeClientError):
        retry_on({"DependencyViolation"}, delete_group, clock=clock, attempts=5, what="x")
    assert len(calls) == 1 and clock.slept == []


def test_retry_on_gives_up_with_the_code_after_its_attempts() -> None:
    clock = FakeClock()

    def delete_group() -> None:
        raise FakeClientError("DependencyViolation", "sg-1 is in use\nmore")

    with pytest.raises(AwsError, match="delete sg-1: DependencyViolation: sg-1 is in use "
                                       r"\(gave up after 3 attempts\)") as e:
        retry_on({"DependencyViolation"}, delete_group, clock=clock, attempts=3,
                 what="delete sg-1")
    assert e.value.code == "DependencyViolation"
    assert clock.slept == [1.0, 2.0]


def test_retry_asks_the_callers_predicate_and_reraises_the_last_error() -> None:
    clock = FakeClock()
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        raise TimeoutError("still busy")

    with pytest.raises(TimeoutError):
        retry(flaky, retryable=lambda e: isinstance(e, TimeoutError), clock=clock, attempts=3)
    assert len(calls) == 3 and clock.slept == [1.0, 2.0]
    with pytest.raises(ValueError):
        retry(flaky, retryable=lambda e: False, clock=clock, attempts=0)
