"""operation(): the one lifecycle of a mutating operation, on moto in-process.

The lock is taken (or a caller's is shared), the start and the outcome are
journaled, and every sign of progress keeps the lease fresh; time is a fake
clock, and the records' wall time follows it (`session.now`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from argos_cloud.aws.session import Clients
from argos_cloud.clock import FakeClock
from argos_cloud.engine.events import StepProgress, StepStarted
from argos_cloud.engine.graph import StepGraph
from argos_cloud.engine.journal import JournalEntry
from argos_cloud.engine.lock import LEASE_SECONDS, EnvironmentLock, iso_utc
from argos_cloud.engine.walk import walk
from argos_cloud.errors import Interrupted, LockHeld, Refused
from argos_cloud.workflows.operation import operation
from argos_cloud.workflows.session import Session
from tests.aws.commission_env import open_env

pytestmark = pytest.mark.aws

START = datetime(2026, 11, 25, 10, 42, 0, tzinfo=UTC)


def following(clock: FakeClock) -> Callable[[], datetime]:
    """Wall time that moves with the fake clock, for lock and journal records."""
    return lambda: START + timedelta(seconds=clock.now())


@pytest.fixture
def session(aws: Clients, tmp_path: Path) -> Session:
    clock = FakeClock()
    opened = open_env(aws, tmp_path, clock=clock)
    opened.now = following(clock)
    return opened


def elsewhere(session: Session, operation: str = "commission") -> EnvironmentLock:
    """The same environment's lock, as a run on another machine would take it."""
    return EnvironmentLock(session.store(), session.scope, who="ops@build-02",
                           operation=operation, host="build-02", pid=4242, now=session.now)


def last_entry(session: Session) -> JournalEntry:
    return session.journal().entries(limit=1)[0]


def aws_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "TerminateInstances")


# --- outcomes ---

def test_a_block_that_ends_normally_is_journaled_succeeded_and_unlocked(
        session: Session) -> None:
    with operation(session, "deploy") as op:
        assert op.lock.holder() == op.lock.record
        op.begin(commit="a" * 40)
        assert last_entry(session).result == "started"
    entry = last_entry(session)
    assert (entry.command, entry.result, entry.commit) == ("deploy", "succeeded", "a" * 40)
    assert session.lock("status").holder() is None


@pytest.mark.parametrize(("raised", "result", "failed_step", "detail"), [
    (aws_error("UnauthorizedOperation", "you may not"), "failed", "instance.broker",
     "UnauthorizedOperation: you may not"),
    (KeyboardInterrupt(), "interrupted", None, None),
    (Interrupted("stopped"), "interrupted", None, None),
    (Refused("not commissioned"), "refused", None, "not commissioned"),
])
def test_each_way_a_block_ends_is_journaled_and_the_lock_released(
        session: Session, raised: BaseException, result: str, failed_step: str | None,
        detail: str | None) -> None:
    with pytest.raises(type(raised)), operation(session, "decommission") as op:
        op.begin()
        op.hook().on_event(StepStarted("instance.broker"))  # the step running when it broke
        raise raised
    entry = last_entry(session)
    assert (entry.result, entry.failed_step, entry.detail) == (result, failed_step, detail)
    assert entry.finished is not None
    assert session.lock("status").holder() is None


def test_a_walk_that_failed_is_journaled_with_its_first_failed_step_and_aws_error(
        session: Session) -> None:
    def run(step: str) -> str:
        if step == "sg.app":
            raise aws_error("DependencyViolation", "sg-1 has a dependent object")
        return "ok"

    with operation(session, "commission") as op:
        op.begin()
        walked = walk(StepGraph.of({"sg.lb": [], "sg.app": []}), run, limit=1,
                      hook=op.hook())
        op.conclude(walked)
    entry = last_entry(session)
    assert (entry.result, entry.failed_step) == ("failed", "sg.app")
    assert entry.detail is not None and "DependencyViolation" in entry.detail


def test_a_refusal_before_begin_leaves_no_entry(session: Session) -> None:
    with pytest.raises(Refused), operation(session, "commission"):
        raise Refused("the environment changed since the plan was made")
    assert session.journal().entries() == []
    assert session.lock("status").holder() is None


def test_a_held_lock_refuses_before_anything_is_journaled(session: Session) -> None:
    elsewhere(session, "deploy").acquire()
    with pytest.raises(LockHeld, match="ops@build-02"), operation(session, "commission"):
        raise AssertionError("the block must not run")
    assert session.journal().entries() == []


def test_an_operation_under_another_shares_its_lock_and_journals_itself(
        session: Session) -> None:
    with operation(session, "commission") as outer:
        outer.begin()
        outer.finish("succeeded")
        with operation(session, "roll", under=outer) as inner:
            assert inner.lock is outer.lock
            inner.begin()
        assert outer.lock.holder() == outer.lock.record
    assert sorted((e.command, e.result) for e in session.journal().entries()) == [
        ("commission", "succeeded"), ("roll", "succeeded")]
    assert session.lock("status").holder() is None


# --- the lease ---

def test_waits_on_the_session_clock_keep_the_lease_fresh(session: Session) -> None:
    clock = session.clock
    with operation(session, "commission") as op:
        for _ in range(40):  # a 40-minute wait, polled each minute
            session.clock.sleep(60)
        assert clock.now() > 4 * LEASE_SECONDS
        record = op.lock.holder()
        assert record is not None and record.expires > iso_utc(session.now())
        with pytest.raises(LockHeld, match="commission"):
            elsewhere(session).acquire()  # another machine finds the holder alive
    assert session.clock is clock  # the keep-alive wrapper lasted the block only


def test_progress_messages_and_step_events_keep_the_lease_fresh(session: Session) -> None:
    clock = session.clock
    assert isinstance(clock, FakeClock)
    with operation(session, "deploy") as op:
        first = op.lock.holder()
        hook = op.hook()
        for minute in range(20):
            clock.advance(60)  # time passes without a wait on the session's clock …
            if minute % 2:  # … but the run says it is working
                session.on_event("image.image", "waiting for image")
            else:
                hook.on_event(StepProgress("app batch 1/2", "applying highstate"))
        record = op.lock.holder()
        assert first is not None and record is not None
        assert record.token == first.token and record.expires > iso_utc(session.now())
        assert not record.lease_expired(session.now())


def test_without_progress_the_lease_of_a_run_elsewhere_runs_out(session: Session) -> None:
    """The control: what keep-alive prevents (no step event, no progress, no wait)."""
    clock = session.clock
    assert isinstance(clock, FakeClock)
    other = elsewhere(session, "deploy")
    other.acquire()
    clock.advance(LEASE_SECONDS + 1)
    with operation(session, "commission") as op:
        assert op.lock.taken_over is not None
    assert any("lease ran out" in n for n in session.notes)
