"""The operations journal in SSM and its local copy, on moto in-process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.aws.store import ParameterStore
from argos_cloud.engine.journal import MAX_ENTRY_BYTES, Journal, JournalEntry, Result
from argos_cloud.model.names import Scope

pytestmark = pytest.mark.aws


class Now:
    """A settable wall clock: each entry gets a distinct, increasing time."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 25, 11, 45, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


class NoAws:
    """A store that fails on any use: proves a read is offline."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"offline read touched the store: {name}")


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
def store(aws: Clients) -> ParameterStore:
    return ParameterStore(aws.ssm)


@pytest.fixture
def journal(store: ParameterStore, scope: Scope, now: Now, tmp_path: Path) -> Journal:
    return Journal(store, scope, local_dir=tmp_path, now=now)


def run(journal: Journal, now: Now, command: str, result: str, commit: str | None = None,
        **finish: Any) -> JournalEntry:
    entry = journal.start(command, who="deploy@build-01", commit=commit)
    now.advance(60)
    done = journal.finish(entry, result, **finish)
    now.advance(60)
    return done


def test_start_writes_a_started_entry_and_finish_overwrites_it(
        journal: Journal, store: ParameterStore, scope: Scope, now: Now) -> None:
    entry = journal.start("deploy", who="deploy@build-01", commit="abc123", plan_digest="d1")
    assert entry.id.startswith("20261125T114501.000000Z-") and len(entry.id) == 28
    assert (entry.at, entry.result) == ("2026-11-25T11:45:01Z", "started")
    assert journal.entries() == [entry]  # visible to everyone while it runs
    now.advance(90)
    done = journal.finish(entry, "failed", failed_step="app.auto_scaling_group +",
                          detail="AwsError: ValidationError")
    assert journal.entries() == [done]  # one parameter per operation
    assert (done.id, done.at, done.commit, done.plan_digest) == (
        entry.id, entry.at, "abc123", "d1")
    assert (done.result, done.failed_step, done.finished) == (
        "failed", "app.auto_scaling_group +", "2026-11-25T11:46:31Z")
    stored = store.get(scope.parameter(f"history/{entry.id}"))
    assert stored is not None and JournalEntry.from_json(stored) == done


def test_entries_are_newest_first_and_limited(journal: Journal, now: Now) -> None:
    first = run(journal, now, "commission", "succeeded")
    second = run(journal, now, "deploy", "failed")
    third = run(journal, now, "deploy", "succeeded")
    assert journal.entries() == [third, second, first]
    assert journal.entries(limit=2) == [third, second]


def test_entries_skip_parameters_that_are_not_entries(journal: Journal, store: ParameterStore,
                                                      scope: Scope, now: Now) -> None:
    kept = run(journal, now, "deploy", "succeeded")
    store.put(scope.parameter("history/garbage"), "{not json")
    store.put(scope.parameter("lock"), "{}")  # beside the history, not in it
    assert journal.entries() == [kept]


def test_each_write_is_copied_locally_and_readable_offline(
        journal: Journal, scope: Scope, now: Now, tmp_path: Path) -> None:
    first = run(journal, now, "commission", "succeeded")
    second = run(journal, now, "deploy", "interrupted")
    local = tmp_path / "argos-qa-history.jsonl"
    assert journal.local_file == local
    lines = [json.loads(line) for line in local.read_text().splitlines()]
    assert [(x["command"], x["result"]) for x in lines] == [
        ("commission", "started"), ("commission", "succeeded"),
        ("deploy", "started"), ("deploy", "interrupted")]
    with local.open("a") as out:
        out.write('{"id": "torn')  # an interrupted append
    offline = Journal(NoAws(), scope, local_dir=tmp_path)
    assert offline.entries_offline() == [second, first] == journal.entries()


def test_without_a_local_dir_nothing_is_written_locally(store: ParameterStore, scope: Scope,
                                                       now: Now, tmp_path: Path) -> None:
    journal = Journal(store, scope, local_dir=None, now=now)
    run(journal, now, "deploy", "succeeded")
    assert journal.local_file is None and journal.entries_offline() == []
    assert list(tmp_path.iterdir()) == []


def test_last_successful_deploys_are_succeeded_deploys_and_rollbacks_newest_first(
        journal: Journal, now: Now) -> None:
    run(journal, now, "commission", "succeeded", commit="c0")
    good = run(journal, now, "deploy", "succeeded", commit="c1")
    run(journal, now, "deploy", "failed", commit="c2")
    back = run(journal, now, "rollback", "succeeded", commit="c1")
    run(journal, now, "deploy", "refused", commit="c3")
    journal.start("deploy", who="ops@laptop", commit="c4")  # still running
    assert journal.last_successful_deploys() == [back, good]
    assert [e.commit for e in journal.last_successful_deploys()] == ["c1", "c1"]


def test_finish_may_record_the_commit_resolved_during_the_run(journal: Journal,
                                                             now: Now) -> None:
    entry = journal.start("deploy", who="deploy@build-01")  # --ref main: commit unknown yet
    done = journal.finish(entry, Result.SUCCEEDED, commit="9f8e7d")
    assert done.commit == "9f8e7d" and journal.last_successful_deploys() == [done]


def test_finish_refuses_an_unknown_result(journal: Journal) -> None:
    entry = journal.start("deploy", who="deploy@build-01")
    with pytest.raises(ValueError):
        journal.finish(entry, "kind of worked")


def test_a_long_detail_is_truncated_to_fit_one_parameter(journal: Journal,
                                                         now: Now) -> None:
    entry = journal.start("decommission", who="deploy@build-01")
    done = journal.finish(entry, "failed", detail="x" * 20_000, failed_step="sg.app -")
    assert done.detail is not None and done.detail.endswith("…")
    assert len(done.to_json().encode()) <= MAX_ENTRY_BYTES
    assert journal.entries() == [done]  # SSM accepted it


def test_entry_ids_sort_by_time(journal: Journal, now: Now) -> None:
    ids = []
    for _ in range(5):
        ids.append(journal.start("status", who="a@b").id)
        now.advance(1)
    assert ids == sorted(ids) and len(set(ids)) == 5
