"""The environment lock and the SSM store under it, on moto in-process."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.aws.store import ParameterStore
from argos_cloud.clock import FakeClock
from argos_cloud.engine.lock import EnvironmentLock, LockRecord, who_am_i
from argos_cloud.errors import AwsError, ExitStatus, LockHeld, OperationFailed
from argos_cloud.model.names import TAG_ENVIRONMENT, TAG_PROJECT, Scope, tag_dict

pytestmark = pytest.mark.aws


class Now:
    """A settable wall clock for lease arithmetic."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 25, 10, 42, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def store(aws: Clients) -> ParameterStore:
    return ParameterStore(aws.ssm)


@pytest.fixture
def now() -> Now:
    return Now()


def lock_for(store: ParameterStore, scope: Scope, now: Now, who: str = "deploy@build-01",
             operation: str = "deploy", pid: int = 100, **kw: object) -> EnvironmentLock:
    kw.setdefault("host", who.partition("@")[2])  # another machine: its pid is not ours
    return EnvironmentLock(store, scope, who=who, operation=operation, now=now, pid=pid,
                           **kw)  # type: ignore[arg-type]


# --- the lock ---

def test_acquire_then_release_frees_the_lock(store: ParameterStore, scope: Scope,
                                             now: Now) -> None:
    lock = lock_for(store, scope, now, commit="abc123")
    record = lock.acquire()
    assert lock.holder() == record
    assert (record.who, record.operation, record.commit) == ("deploy@build-01", "deploy", "abc123")
    assert (record.created, record.expires) == ("2026-11-25T10:42:00Z", "2026-11-25T10:47:00Z")
    assert lock.release() is True
    assert lock.holder() is None
    assert store.get(scope.parameter("lock")) is None
    lock_for(store, scope, now, who="ops@laptop").acquire()  # free for the next one


def test_second_acquire_is_refused_naming_holder_operation_and_since(
        store: ParameterStore, scope: Scope, now: Now) -> None:
    lock_for(store, scope, now).acquire()
    now.advance(30)
    with pytest.raises(LockHeld) as caught:
        lock_for(store, scope, now, who="ops@laptop", operation="commission").acquire()
    held = caught.value
    assert (held.environment, held.holder, held.operation, held.since) == (
        "qa", "deploy@build-01", "deploy", "2026-11-25T10:42:00Z")
    assert held.stale is False and held.exit_status is ExitStatus.REFUSED
    assert "deploy@build-01" in str(held) and "(deploy)" in str(held)


def test_a_lock_elsewhere_is_held_until_its_lease_runs_out_then_taken_over_with_a_note(
        store: ParameterStore, scope: Scope, now: Now) -> None:
    first = lock_for(store, scope, now, lease_seconds=60)
    record = first.acquire()
    now.advance(59)
    with pytest.raises(LockHeld) as caught:
        lock_for(store, scope, now, who="ops@laptop").acquire()
    assert caught.value.stale is False and "--lock-wait" in str(caught.value)
    assert first.holder() == record
    now.advance(2)
    notes: list[str] = []
    second = lock_for(store, scope, now, who="ops@laptop", on_note=notes.append)
    taken = second.acquire()
    assert second.taken_over == record and second.holder() == taken
    assert len(notes) == 1 and "deploy@build-01" in notes[0] and "lease ran out" in notes[0]
    assert first.release() is False  # the old holder cannot delete its successor's lock


def test_a_dead_holder_on_this_host_is_stale_at_once(store: ParameterStore, scope: Scope,
                                                     now: Now) -> None:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a pid that existed and is gone (reaped)
    host = socket.gethostname()
    dead = lock_for(store, scope, now, who=f"ci@{host}", pid=child.pid, host=host)
    record = dead.acquire()
    notes: list[str] = []
    again = lock_for(store, scope, now, who=f"ci@{host}", host=host, pid=os.getpid(),
                     on_note=notes.append)
    again.acquire()  # the lease has minutes left: the dead pid alone makes it stale
    assert again.taken_over == record
    assert f"process {child.pid}" in notes[0] and "no longer running" in notes[0]


def test_a_live_holder_on_this_host_is_not_taken_over(store: ParameterStore, scope: Scope,
                                                      now: Now) -> None:
    host = socket.gethostname()
    lock_for(store, scope, now, who=f"ci@{host}", pid=os.getpid(), host=host).acquire()
    other = lock_for(store, scope, now, who=f"ci@{host}", pid=os.getpid(), host=host)
    with pytest.raises(LockHeld):
        other.acquire()  # same pid, another run: the token tells them apart
    assert other.holder_alive() is not None


def test_a_reused_pid_is_not_the_holder(store: ParameterStore, scope: Scope, now: Now) -> None:
    host = socket.gethostname()
    held = lock_for(store, scope, now, who=f"ci@{host}", pid=os.getpid(), host=host)
    record = held.acquire()
    store.put(scope.parameter("lock"), LockRecord(**{
        **record.__dict__, "pid_start": "1"}).to_json())  # this pid, but another start
    assert lock_for(store, scope, now, who=f"ci@{host}", host=host).holder_alive() is None


def test_a_lost_put_parameter_answer_still_leaves_the_lock_ours(
        aws: Clients, store: ParameterStore, scope: Scope, now: Now) -> None:
    from argos_cloud.sandbox.faults import Faults

    Faults().attach(aws).lose("PutParameter")  # SSM made it; the answer never came
    lock = lock_for(store, scope, now)
    record = lock.acquire()
    assert lock.holder() == record and lock.record == record
    assert lock.release() is True and lock.holder() is None


def test_a_retried_put_parameter_that_finds_our_lock_is_ours(store: ParameterStore,
                                                             scope: Scope, now: Now) -> None:
    lock = lock_for(store, scope, now)

    class RetriedStore:  # botocore retried after a dropped answer: ParameterAlreadyExists
        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        def create(self, name: str, value: str, **kw: object) -> bool:
            store.create(name, value, **kw)  # type: ignore[arg-type]
            return False

    lock._store = RetriedStore()  # type: ignore[assignment]
    record = lock.acquire()
    assert lock.holder() == record


def test_break_lock_clears_it_and_returns_the_old_record(
        store: ParameterStore, scope: Scope, now: Now) -> None:
    record = lock_for(store, scope, now).acquire()
    breaker = lock_for(store, scope, now, who="ops@laptop", operation="break-lock")
    assert breaker.break_lock() == record
    assert breaker.holder() is None
    assert breaker.break_lock() is None  # nothing left to break
    breaker.acquire()


def test_release_leaves_someone_elses_lock_in_place(store: ParameterStore, scope: Scope,
                                                    now: Now) -> None:
    original = lock_for(store, scope, now)
    original.acquire()
    lock_for(store, scope, now, who="ops@laptop").break_lock()
    successor = lock_for(store, scope, now, who="ops@laptop", operation="commission")
    taken = successor.acquire()
    assert original.release() is False
    assert successor.holder() == taken


def test_release_is_refused_for_the_same_user_in_another_process(
        store: ParameterStore, scope: Scope, now: Now) -> None:
    lock_for(store, scope, now, pid=1).acquire()
    other = lock_for(store, scope, now, pid=2)
    with pytest.raises(LockHeld):
        other.acquire()
    assert other.release() is False  # it never held it
    assert other.holder() is not None and other.holder().pid == 1  # type: ignore[union-attr]


@pytest.fixture
def atomic_put_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto's put_parameter atomic, as SSM's is.

    moto checks for the name and appends the new version without a lock:
    measured, 4 runs in 300 let two of 8 threads "create" the same parameter.
    AWS does not; our code relies on AWS, so the emulator is made to match.
    """
    from moto.ssm.models import SimpleSystemManagerBackend

    original = SimpleSystemManagerBackend.put_parameter
    guard = threading.Lock()

    def put_parameter(self: object, *args: object, **kwargs: object) -> object:
        with guard:
            return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SimpleSystemManagerBackend, "put_parameter", put_parameter)


@pytest.mark.usefixtures("atomic_put_parameter")
def test_exactly_one_of_eight_concurrent_acquires_wins(store: ParameterStore, scope: Scope,
                                                       now: Now) -> None:
    start = threading.Barrier(8)
    won: list[LockRecord] = []
    refused: list[LockHeld] = []
    others: list[BaseException] = []

    def contend(n: int) -> None:
        lock = lock_for(store, scope, now, who=f"user{n}@host{n}", pid=n)
        start.wait()
        try:
            won.append(lock.acquire())
        except LockHeld as e:
            refused.append(e)
        except BaseException as e:  # reported by the assertion below
            others.append(e)

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert others == []
    assert len(won) == 1 and len(refused) == 7
    assert {e.holder for e in refused} == {won[0].who}
    assert lock_for(store, scope, now).holder() == won[0]


def test_the_context_manager_releases_even_on_error(store: ParameterStore, scope: Scope,
                                                    now: Now) -> None:
    lock = lock_for(store, scope, now)
    with pytest.raises(ZeroDivisionError), lock:
        assert lock.holder() == lock.record
        _ = 1 / 0
    assert lock.holder() is None


def test_the_heartbeat_keeps_the_lease_fresh_while_the_run_works(
        store: ParameterStore, scope: Scope) -> None:
    lock = EnvironmentLock(store, scope, who="ci@elsewhere", operation="commission",
                           lease_seconds=3, host="elsewhere", heartbeat=True)  # beats each 1 s
    first = lock.acquire()
    try:
        for _ in range(100):  # wait for a beat, without asserting any timing
            current = lock.holder()
            if current is not None and current.expires != first.expires:
                break
            threading.Event().wait(0.1)
        assert current is not None and current.expires > first.expires
        assert current.token == first.token
    finally:
        assert lock.release() is True


def test_refresh_extends_our_lease_and_fails_once_broken(store: ParameterStore, scope: Scope,
                                                         now: Now) -> None:
    lock = lock_for(store, scope, now, lease_seconds=600)
    record = lock.acquire()
    now.advance(300)
    renewed = lock.refresh()
    assert renewed.created == record.created and renewed.expires == "2026-11-25T10:57:00Z"
    assert lock.holder() == renewed
    lock_for(store, scope, now, who="ops@laptop").break_lock()
    with pytest.raises(OperationFailed, match="broken"):
        lock.refresh()


def test_an_unreadable_lock_still_blocks_and_can_be_broken(store: ParameterStore,
                                                           scope: Scope, now: Now) -> None:
    store.put(scope.parameter("lock"), "not json")
    lock = lock_for(store, scope, now)
    with pytest.raises(LockHeld) as caught:
        lock.acquire()
    assert caught.value.holder == "unknown"
    assert lock.break_lock() is not None
    lock.acquire()


def test_lock_wait_takes_the_lock_once_the_holder_releases(store: ParameterStore,
                                                           scope: Scope, now: Now) -> None:
    holder = lock_for(store, scope, now)
    holder.acquire()

    class ReleasingClock(FakeClock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            if len(self.slept) == 3:
                holder.release()

    clock = ReleasingClock()
    waiter = lock_for(store, scope, now, who="ops@laptop")
    record = waiter.acquire(wait_seconds=60, clock=clock, poll_seconds=5)
    assert clock.slept == [5, 5, 5] and waiter.holder() == record


def test_lock_wait_gives_up_after_the_wait(store: ParameterStore, scope: Scope,
                                          now: Now) -> None:
    lock_for(store, scope, now).acquire()
    clock = FakeClock()
    with pytest.raises(LockHeld):
        lock_for(store, scope, now, who="ops@laptop").acquire(wait_seconds=12, clock=clock,
                                                             poll_seconds=5)
    assert clock.slept == [5, 5, 2]


def test_the_lock_parameter_is_tagged_with_its_scope(aws: Clients, store: ParameterStore,
                                                     scope: Scope, now: Now) -> None:
    lock_for(store, scope, now).acquire()
    tags = tag_dict(aws.ssm.list_tags_for_resource(
        ResourceType="Parameter", ResourceId=scope.parameter("lock"))["TagList"])
    assert (tags[TAG_PROJECT], tags[TAG_ENVIRONMENT]) == ("argos", "qa")


def test_lock_record_round_trips_through_json() -> None:
    record = LockRecord(who="a@b", operation="deploy", created="2026-01-01T00:00:00Z",
                        expires="2026-01-01T01:00:00Z", pid=7, commit=None, token="t0",
                        host="b", pid_start="123")
    assert LockRecord.from_json(record.to_json()) == record
    old = '{"who": "a@b", "operation": "deploy", "created": "x", "expires": "y", "pid": 7}'
    assert LockRecord.from_json(old).host == "b"  # records of earlier versions still read
    with pytest.raises(ValueError):
        LockRecord.from_json('{"who": "a@b"}')


def test_who_am_i_names_user_and_host() -> None:
    user, _, host = who_am_i().partition("@")
    assert user and host


# --- the parameter store under it ---

def test_create_returns_false_when_the_parameter_exists(store: ParameterStore) -> None:
    assert store.create("/argos-cloud/argos/qa/x", "first") is True
    assert store.create("/argos-cloud/argos/qa/x", "second") is False
    assert store.get("/argos-cloud/argos/qa/x") == "first"


def test_missing_parameters_read_as_none_and_delete_as_false(store: ParameterStore) -> None:
    assert store.get("/argos-cloud/argos/qa/missing") is None
    assert store.delete("/argos-cloud/argos/qa/missing") is False


def test_secure_string_round_trips_only_with_decryption(store: ParameterStore,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="argos_cloud")  # botocore's DEBUG logs bodies
    store.put("/argos-cloud/argos/qa/db-password", "s3cret-value", secure=True,
              tags={"argos-cloud:role": "shared"})
    assert store.get("/argos-cloud/argos/qa/db-password", decrypt=True) == "s3cret-value"
    assert store.get("/argos-cloud/argos/qa/db-password") != "s3cret-value"
    assert "db-password" in caplog.text  # names are logged …
    assert "s3cret-value" not in caplog.text  # … values never


def test_put_overwrites_and_adds_tags_separately(aws: Clients, store: ParameterStore) -> None:
    store.put("/argos-cloud/argos/qa/commit", "aaa")
    store.put("/argos-cloud/argos/qa/commit", "bbb", tags={"argos-cloud:role": "deploy"})
    assert store.get("/argos-cloud/argos/qa/commit") == "bbb"
    tags = aws.ssm.list_tags_for_resource(ResourceType="Parameter",
                                          ResourceId="/argos-cloud/argos/qa/commit")["TagList"]
    assert tag_dict(tags) == {"argos-cloud:role": "deploy"}


def test_list_path_pages_recursively_and_delete_path_removes_it_all(
        store: ParameterStore) -> None:
    names = {f"/argos-cloud/argos/qa/history/e{n:02d}": str(n) for n in range(23)}
    names["/argos-cloud/argos/qa/lock"] = "l"
    names["/argos-cloud/argos/staging/lock"] = "other env"
    for name, value in names.items():
        store.put(name, value)
    listed = store.list_path("/argos-cloud/argos/qa")
    assert len(listed) == 24 and listed["/argos-cloud/argos/qa/history/e22"] == "22"
    assert sorted(store.delete_path("/argos-cloud/argos/qa/")) == sorted(listed)
    assert store.list_path("/argos-cloud/argos/qa") == {}
    assert store.get("/argos-cloud/argos/staging/lock") == "other env"


def test_other_aws_errors_become_aws_error_with_the_code(store: ParameterStore) -> None:
    with pytest.raises(AwsError) as caught:
        store.create("/argos-cloud/argos/qa/empty", "")
    assert caught.value.code == "ValidationException"


def test_keep_alive_writes_only_once_a_third_of_the_lease_has_passed(
        store: ParameterStore, scope: Scope, now: Now) -> None:
    lock = lock_for(store, scope, now, lease_seconds=300)
    record = lock.acquire()
    now.advance(99)
    assert lock.keep_alive() is False and lock.holder() == record  # not due: no write
    now.advance(1)
    assert lock.keep_alive() is True
    renewed = lock.holder()
    assert renewed is not None and renewed.expires == "2026-11-25T10:48:40Z"
    assert lock.keep_alive() is False  # due again only 100 s after this write


def test_keep_alive_stops_once_the_lock_was_broken_and_says_so(
        store: ParameterStore, scope: Scope, now: Now) -> None:
    notes: list[str] = []
    lock = lock_for(store, scope, now, lease_seconds=300, on_note=notes.append)
    lock.acquire()
    lock_for(store, scope, now, who="ops@laptop").break_lock()
    taken = lock_for(store, scope, now, who="ops@laptop", operation="commission").acquire()
    now.advance(200)
    assert lock.keep_alive() is False and lock.keep_alive() is False
    assert len(notes) == 1 and "ops@laptop" in notes[0]
    assert lock.holder() == taken  # the successor's lock is left as it is
