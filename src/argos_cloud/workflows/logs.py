"""`logs`: the journal of the app's units on the environment's instances, through SSM.

Each instance is read with `journalctl` (provision/journal.py builds it) page by
page after its own cursor, so output longer than SSM's 24,000 characters is
fetched whole and `--follow` shows each entry exactly once: every poll asks for
what came after the last entry shown. The lines of one round are merged by time.
Read only: no lock, no history entry (reading the journal changes nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from argos_cloud.errors import BadInput
from argos_cloud.provision.journal import UNITS_OF_ROLE, Entry, journal_command, parse_page
from argos_cloud.workflows.session import Session
from argos_cloud.workflows.targets import Target, choose, instances

if TYPE_CHECKING:
    from argos_cloud.provision.remote import RemoteExecutor

DEFAULT_ROLES = ("app", "worker")
ALL_ROLES = ("app", "worker", "database", "broker", "master")
DEFAULT_LINES = 100
POLL_SECONDS = 2.0
PAGE_TIMEOUT = 120.0
MAX_PAGES = 500  # per instance and round: 10 MB of journal, then the next round goes on


@dataclass(frozen=True)
class LogLine:
    instance_id: str
    role: str
    unit: str
    at: str  # ISO UTC, milliseconds
    message: str
    timestamp: int  # microseconds, for ordering
    cut: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"instance": self.instance_id, "role": self.role, "unit": self.unit,
                "at": self.at, "message": self.message, "cut": self.cut}


@dataclass
class Source:
    """One instance's place in its journal: after `cursor`, or since `since` (none yet)."""

    target: Target
    units: tuple[str, ...]
    cursor: str | None = None
    since: str | None = None
    pages: int = 0  # SSM commands sent, for tests and -v
    problem: str | None = None


@dataclass
class LogsResult:
    environment: str
    sources: list[Source] = field(default_factory=list)
    lines: int = 0
    emulated: bool = False

    @property
    def problems(self) -> list[str]:
        return [f"{s.target.id}: {s.problem}" for s in self.sources if s.problem]


def units_for(role: str, given: tuple[str, ...]) -> tuple[str, ...]:
    return given or UNITS_OF_ROLE[role]


def fetch(executor: RemoteExecutor, source: Source, *, since: str | None = None,
          lines: int | None = None) -> list[LogLine]:
    """Every entry after the source's place, page by page; the place moves past them.

    `since`/`lines` apply to the first read only (no cursor, no earlier look).
    """
    out: list[LogLine] = []
    first = source.cursor is None and source.since is None
    for _ in range(MAX_PAGES):
        if source.cursor is not None:
            script = journal_command(source.units, cursor=source.cursor)
        elif first:
            script = journal_command(source.units, since=since, lines=lines)
        else:
            script = journal_command(source.units, since=source.since)
        sent = executor.run([source.target.id], script, timeout=PAGE_TIMEOUT,
                            comment="argos-cloud logs")
        source.pages += 1
        answer = next((i for i in sent.invocations if i.instance_id == source.target.id), None)
        if answer is None or not answer.ok:
            source.problem = ("no answer" if answer is None else
                              f"{answer.status} (exit {answer.exit_code})")
            return out
        source.problem = None
        page = parse_page(answer.stdout)
        if source.cursor is None and not page.entries and page.now:
            source.since = page.now  # nothing yet: next time, from this moment on
        out += [_line(source.target, e) for e in page.entries]
        if page.cursor is not None:
            source.cursor = page.cursor
        first = False
        if not page.full:
            break
    return out


def _line(target: Target, entry: Entry) -> LogLine:
    return LogLine(target.id, target.role, entry.unit, entry.at, entry.message,
                   entry.timestamp, entry.cut)


def sources_for(session: Session, *, role: str | None, instance_id: str | None,
                units: tuple[str, ...]) -> list[Source]:
    scope = session.scope
    where = f"{scope.project}/{scope.environment}"
    if role is not None and role not in ALL_ROLES:
        raise BadInput(f"--role: '{role}' is not one of {', '.join(ALL_ROLES)}")
    roles = ALL_ROLES if instance_id else ((role,) if role else DEFAULT_ROLES)
    found = instances(session, roles)
    if instance_id is not None:
        chosen = choose(found, role=None, instance_id=instance_id, every=True, where=where)
    else:
        chosen = [t for t in found if t.role in roles]
        if not chosen:
            choose(chosen, role=role, instance_id=None, every=True, where=where)  # says why
    return [Source(t, units_for(t.role, units)) for t in chosen]


def logs(session: Session, emit: Callable[[LogLine], None], *, role: str | None = None,
         instance_id: str | None = None, units: tuple[str, ...] = (),
         since: str | None = None, lines: int | None = None, follow: bool = False,
         executor: RemoteExecutor | None = None,
         keep_going: Callable[[], bool] = lambda: True,
         poll_seconds: float = POLL_SECONDS) -> LogsResult:
    """Emit the journal lines, oldest first; with `follow`, poll until `keep_going()` is
    False (the CLI: until Ctrl-C)."""
    if executor is None:
        from argos_cloud.provision.remote import SsmExecutor

        executor = SsmExecutor(session.clients, session.clock)
    if since is None and lines is None:
        lines = DEFAULT_LINES
    sources = sources_for(session, role=role, instance_id=instance_id, units=units)
    result = LogsResult(environment=session.scope.environment or "", sources=sources,
                        emulated=session.emulated)
    said: set[str] = set()

    def round_of(first: bool) -> None:
        batch: list[LogLine] = []
        for source in sources:
            batch += fetch(executor, source, since=since if first else None,
                           lines=lines if first else None)
            if source.problem and source.problem not in said:
                said.add(source.problem)
                session.on_event(source.target.id, f"could not read the journal: "
                                                   f"{source.problem}")
        for line in sorted(batch, key=lambda x: x.timestamp):  # stable: per instance order
            emit(line)
        result.lines += len(batch)

    round_of(True)
    while follow and keep_going():
        session.clock.sleep(poll_seconds)
        round_of(False)
    return result
