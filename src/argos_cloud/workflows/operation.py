"""One lifecycle for every mutating operation: lock, journal, a lease kept fresh.

commission, deploy, rollback, the image roll, decommission and clean each run
inside `operation(session, name)`. It takes the environment's lock (waiting
`--lock-wait` seconds for a live holder), or runs under the lock its caller
already holds (commission's first deploy and image roll). From `begin()` on,
the journal records the start, and the block's end records the outcome:
succeeded; failed, naming the failing step and the error (an AWS error as its
code and message); interrupted (Ctrl-C, a stopped walk); refused. Checks made
before `begin()` refuse without an entry, as a run that never started.

While the block runs, every sign of progress refreshes the lock's lease: a
step event, a progress message, and each sleep of a wait on the session's
clock (SSM command polls, image waits: a bake's Salt run is an hour of those).
So a long bake never looks stale to another machine, and under a fake clock
the refreshes happen at exact, testable moments.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from argos_cloud.clock import Clock
from argos_cloud.engine.events import Event, Hook, StepStarted
from argos_cloud.engine.journal import Journal, JournalEntry, Result
from argos_cloud.engine.walk import WalkResult, one_line
from argos_cloud.errors import Interrupted, OperationFailed, Refused
from argos_cloud.model.names import Scope

if TYPE_CHECKING:
    from argos_cloud.engine.lock import EnvironmentLock
    from argos_cloud.workflows.session import Session

log = logging.getLogger(__name__)


class KeepAliveClock:
    """The session's clock, refreshing the lease after each sleep (a wait is progress)."""

    def __init__(self, inner: Clock, keep_alive: Callable[[], object]) -> None:
        self.inner, self._keep_alive = inner, keep_alive

    def now(self) -> float:
        return self.inner.now()

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)
        self._keep_alive()


class KeepAliveHook:
    """Passes events on; each keeps the lease fresh, and a started step is remembered."""

    def __init__(self, inner: Hook | None, op: Operation) -> None:
        self.inner, self._op = inner, op

    def on_event(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self._op.step = event.step
        self._op.keep_alive()
        if self.inner is not None:
            self.inner.on_event(event)


def error_text(e: BaseException) -> str:
    """One line for the journal: an AWS error as `Code: message`, anything else its text.

    Our own errors (an AwsError included) already read as one line: see `fail_with`.
    """
    from argos_cloud.aws.errors import error_code, error_message

    code = error_code(e)
    return f"{code}: {error_message(e)}" if code else one_line(e)


class Operation:
    """One running operation: its lock (or its caller's), its journal entry, its step."""

    def __init__(self, name: str, journal: Journal, lock: EnvironmentLock, *,
                 who: str, history_may_go: bool = False) -> None:
        self.name, self.journal, self.lock = name, journal, lock
        self.who = who
        self.history_may_go = history_may_go
        self.entry: JournalEntry | None = None
        self.finished: JournalEntry | None = None
        self.step: str | None = None  # the step running now, named by a failure
        self.in_aws = True  # False when the entry was finished in the local copy only

    def keep_alive(self) -> None:
        """Refresh the lease if due (cheap otherwise): called on every sign of progress."""
        self.lock.keep_alive()

    def hook(self, hook: Hook | None = None) -> Hook:
        """`hook`, with every event also keeping the lease fresh and naming the step."""
        return KeepAliveHook(hook, self)

    def begin(self, *, commit: str | None = None,
              plan_digest: str | None = None) -> JournalEntry:
        """Journal the start: from here on the block's end is journaled too."""
        self.entry = self.journal.start(self.name, who=self.who, commit=commit,
                                        plan_digest=plan_digest)
        return self.entry

    def finish(self, result: Result | str, *, failed_step: str | None = None,
               detail: str | None = None) -> JournalEntry | None:
        """Journal the outcome now (once; the block's end then adds nothing)."""
        if self.entry is None or self.finished is not None:
            return self.finished
        if self.history_may_go:  # never bring back a history that was deleted
            self.in_aws = self.journal.kept(self.entry)
        self.finished = self.journal.finish(self.entry, Result(result).value,
                                            failed_step=failed_step, detail=detail,
                                            local_only=not self.in_aws)
        return self.finished

    def conclude(self, walked: WalkResult, detail: str | None = None) -> JournalEntry | None:
        """The outcome of a walk: interrupted or failed (naming its first failed step, if
        any), or succeeded."""
        if walked.interrupted or walked.failed:
            step, error = sorted(walked.failed.items())[0] if walked.failed else (None, None)
            return self.finish(Result.INTERRUPTED if walked.interrupted else Result.FAILED,
                               failed_step=step, detail=error)
        return self.finish(Result.SUCCEEDED, detail=detail)

    def fail_with(self, e: BaseException) -> JournalEntry | None:
        """The outcome of an exception that ends the block."""
        if isinstance(e, Refused):
            return self.finish(Result.REFUSED, detail=str(e))
        if isinstance(e, Interrupted) or not isinstance(e, Exception):
            return self.finish(Result.INTERRUPTED)  # Ctrl-C, SystemExit
        step = getattr(e, "failed_step", None) or self.step or "prepare"
        text = str(e) if isinstance(e, OperationFailed) else error_text(e)
        return self.finish(Result.FAILED, failed_step=step, detail=text)


@contextmanager
def operation(session: Session, name: str, *, under: Operation | None = None,
              scope: Scope | None = None, history_may_go: bool = False) -> Iterator[Operation]:
    """Run the block as operation `name`: locked, journaled, its lease kept fresh.

    `under` runs inside an operation that already holds the lock (its lease is the one
    kept fresh). `scope` is where the history lives (the project's for clean).
    `history_may_go`: the block may delete the history (decommission); its entry is then
    finished in the local copy only.
    """
    from argos_cloud.engine.lock import who_am_i

    lock = under.lock if under is not None else session.lock(name)
    op = Operation(name, session.journal(scope=scope), lock, who=who_am_i(),
                   history_may_go=history_may_go)
    if under is None:
        lock.acquire()  # LockHeld names the holder; nothing is journaled then
    clock, progress = session.clock, session.on_event
    if under is None:  # the outermost operation wraps once; nested ones share it
        session.clock = KeepAliveClock(clock, op.keep_alive)

        def keep_alive_progress(step: str, message: str) -> None:
            op.keep_alive()
            progress(step, message)

        session.on_event = keep_alive_progress
    try:
        yield op
    except BaseException as e:
        try:
            op.fail_with(e)
        except Exception as journal_error:  # never hide the failure behind this one
            log.warning("could not journal the end of %s: %s", name, journal_error)
        raise
    else:
        op.finish(Result.SUCCEEDED)
    finally:
        session.clock, session.on_event = clock, progress
        if under is None:
            lock.release()
