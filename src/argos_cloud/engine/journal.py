"""The operations journal: what was done to an environment, by whom, when, with what result.

Each entry is a small JSON SSM parameter `/argos-cloud/<project>/<env>/history/<id>`
next to the lock, so every operator sees the same history (the `history`
command), whichever machine ran the operation; each write is also appended to
a local JSON-lines file for offline reading. The local file is a cache: AWS is
the truth.

Entries hold names, commits and digests only, never secret values.
Imports nothing of AWS: the store is passed in.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from argos_cloud.clock import utc_now
from argos_cloud.engine.lock import ParameterStoreLike, iso_utc
from argos_cloud.errors import OperationFailed
from argos_cloud.model.names import Scope

log = logging.getLogger(__name__)

HISTORY_LEAF = "history"
MAX_ENTRY_BYTES = 4096  # standard-tier SSM parameter value limit
MAX_DETAIL_CHARS = 1000
ROLLBACK_SOURCES = frozenset({"deploy", "rollback"})


class Result(StrEnum):
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    REFUSED = "refused"


@dataclass(frozen=True)
class JournalEntry:
    """One operation; `at` is when it started, `finished` when it ended."""

    id: str  # sorts by time: 20261125T114501.123456Z-1a2b
    at: str  # ISO UTC
    who: str  # user@host
    command: str  # commission, deploy, rollback, decommission, …
    result: str  # a Result value
    commit: str | None = None
    plan_digest: str | None = None
    failed_step: str | None = None
    detail: str | None = None
    finished: str | None = None  # ISO UTC

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> JournalEntry:
        """Parse an entry; ValueError when it is not one (unknown keys are ignored)."""
        try:
            raw: Any = json.loads(text)
            known = {f.name for f in fields(cls)}
            values: dict[str, Any] = {
                k: (None if v is None else str(v)) for k, v in raw.items() if k in known}
            return cls(**values)
        except (TypeError, AttributeError, json.JSONDecodeError) as e:
            raise ValueError(f"not a journal entry: {e}") from None


def new_entry_id(moment: datetime) -> str:
    """Time first (to the microsecond) so ids sort by time; 4 hex digits break ties."""
    return f"{moment.strftime('%Y%m%dT%H%M%S.%fZ')}-{secrets.token_hex(2)}"


def fit(entry: JournalEntry) -> JournalEntry:
    """Shorten `detail` until the entry fits one standard-tier parameter."""
    if entry.detail is not None and len(entry.detail) > MAX_DETAIL_CHARS:
        entry = replace(entry, detail=entry.detail[:MAX_DETAIL_CHARS - 1] + "…")
    while len(entry.to_json().encode()) > MAX_ENTRY_BYTES and entry.detail:
        entry = replace(entry, detail=entry.detail[: len(entry.detail) // 2] + "…")
    return entry


class Journal:
    """Writes and reads an environment's history, in SSM and in a local copy."""

    def __init__(self, store: ParameterStoreLike, scope: Scope, *, local_dir: Path | None,
                 now: Callable[[], datetime] = utc_now,
                 on_finish: Callable[[JournalEntry], None] | None = None) -> None:
        self._on_finish = on_finish  # e.g. notifications: told once an operation ends
        self._store = store
        self._scope = scope
        self._local_dir = local_dir
        self._now = now

    @property
    def path(self) -> str:
        return self._scope.parameter(HISTORY_LEAF)

    @property
    def local_file(self) -> Path | None:
        if self._local_dir is None:
            return None
        env = self._scope.environment or "shared"
        return self._local_dir / f"{self._scope.project}-{env}-history.jsonl"

    def start(self, command: str, *, who: str, commit: str | None = None,
              plan_digest: str | None = None) -> JournalEntry:
        """Record that `command` started, before it changes anything."""
        for _ in range(3):  # an id collision needs the same second and the same 16 bits
            now = self._now()
            entry = fit(JournalEntry(id=new_entry_id(now), at=iso_utc(now), who=who,
                                     command=command, result=Result.STARTED.value,
                                     commit=commit, plan_digest=plan_digest))
            if self._store.create(self._name(entry), entry.to_json(),
                                  tags=self._scope.tags(HISTORY_LEAF)):
                self._append_local(entry)
                return entry
        raise OperationFailed("journal entry id collided three times")  # practically unreachable

    def finish(self, entry: JournalEntry, result: str, *, failed_step: str | None = None,
               detail: str | None = None, commit: str | None = None,
               local_only: bool = False) -> JournalEntry:
        """Overwrite the entry with its outcome; `commit` replaces the started one if given.

        `local_only` writes the local copy alone: decommission deletes the environment's
        history with it, and its own last entry must not bring a parameter back.
        """
        outcome = Result(result).value  # ValueError on anything but a Result
        done = fit(replace(entry, result=outcome, failed_step=failed_step, detail=detail,
                           commit=commit if commit is not None else entry.commit,
                           finished=iso_utc(self._now())))
        if not local_only:
            self._store.put(self._name(done), done.to_json())
        self._append_local(done)
        if self._on_finish is not None:
            try:
                self._on_finish(done)
            except Exception as e:  # telling others must never fail the operation
                log.warning("after-finish hook failed: %s", e)
        return done

    def kept(self, entry: JournalEntry) -> bool:
        """True while the entry's parameter is still in AWS (a decommission may delete it)."""
        return self._store.get(self._name(entry)) is not None

    def entries(self, limit: int | None = 50) -> list[JournalEntry]:
        """Newest first, from AWS (one paginated read); unreadable parameters are skipped."""
        found: list[JournalEntry] = []
        for name, text in self._store.list_path(self.path).items():
            try:
                found.append(JournalEntry.from_json(text))
            except ValueError:
                log.warning("skipping unreadable journal entry %s", name)
        return _newest_first(found, limit)

    def entries_offline(self, limit: int | None = 50) -> list[JournalEntry]:
        """Newest first, from the local copy; the last line written for an id wins."""
        path = self.local_file
        if path is None or not path.exists():
            return []
        latest: dict[str, JournalEntry] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                entry = JournalEntry.from_json(line)
            except ValueError:
                continue  # a torn line from an interrupted write
            latest[entry.id] = entry
        return _newest_first(list(latest.values()), limit)

    def last_successful_deploys(self) -> list[JournalEntry]:
        """Succeeded deploys and rollbacks, newest first: what `rollback` returns to."""
        return [e for e in self.entries(limit=None)
                if e.command in ROLLBACK_SOURCES and e.result == Result.SUCCEEDED]

    def _name(self, entry: JournalEntry) -> str:
        return self._scope.parameter(f"{HISTORY_LEAF}/{entry.id}")

    def _append_local(self, entry: JournalEntry) -> None:
        path = self.local_file
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                out.write(entry.to_json() + "\n")
        except OSError as e:  # the local copy is a cache: never fail an operation over it
            log.warning("could not write the local history %s: %s", path, e)


def _newest_first(entries: list[JournalEntry], limit: int | None) -> list[JournalEntry]:
    ordered = sorted(entries, key=lambda e: e.id, reverse=True)
    return ordered if limit is None else ordered[:limit]
