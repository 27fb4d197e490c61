"""A bounded parallel walk of a StepGraph; a failure skips only its dependants.

Every ready step runs on a thread pool with at most `limit` in flight (the cap also keeps
AWS from throttling us). A failed step's descendants are skipped without new errors while
independent steps run on. On interruption no new step starts and running ones finish:
steps are idempotent and tag what they create, so a later run resumes. Nothing here
knows about time or AWS; `run` does the work.
"""

from __future__ import annotations

import heapq
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field

from argos_cloud.engine.events import (
    Event,
    Hook,
    NullHook,
    StepFailed,
    StepSkipped,
    StepStarted,
    StepSucceeded,
    WalkInterrupted,
)
from argos_cloud.engine.graph import StepGraph
from argos_cloud.errors import Interrupted

log = logging.getLogger(__name__)

Run = Callable[[str], str | None]

_POLL_SECONDS = 0.25  # how soon an interruption is noticed while steps run; not a sleep


@dataclass(frozen=True)
class WalkResult:
    """Every step of the graph lands in exactly one of the four outcomes."""

    succeeded: set[str]
    failed: dict[str, str]  # step → one-line error
    skipped: set[str]  # a step it needs failed
    not_started: set[str]  # interrupted before it ran, or cut short by the interruption
    interrupted: bool
    details: dict[str, str] = field(default_factory=dict)  # succeeded step → run's detail

    @property
    def ok(self) -> bool:
        """Everything succeeded and nobody pressed Ctrl-C."""
        return not (self.failed or self.skipped or self.not_started or self.interrupted)


def walk(graph: StepGraph, run: Run, *, limit: int = 4, hook: Hook | None = None,
         stop: threading.Event | None = None) -> WalkResult:
    """Run every step of `graph` once its needs have succeeded, at most `limit` at a time.

    `run(step)` does a step and returns a detail for the success event (or None); any
    `Exception` it raises fails the step with its message's first line. A set `stop`,
    Ctrl-C (SIGINT, or a KeyboardInterrupt in the walking thread), or `run` raising
    KeyboardInterrupt or `Interrupted` stops new starts; the walk waits for running steps,
    then returns with `interrupted=True`. Ready steps start in sorted order, so small walks
    are repeatable.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    return _Walk(graph, run, hook or NullHook(), stop).go(limit)


def one_line(e: BaseException) -> str:
    """An exception as one line: its message's first line, or its type if it has none."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class _Walk:
    """The mutable state of one walk, touched only by the walking thread."""

    def __init__(self, graph: StepGraph, run: Run, hook: Hook,
                 stop: threading.Event | None) -> None:
        self.graph, self.run, self.hook, self.stop = graph, run, hook, stop
        self.order = {step: i for i, step in enumerate(graph.topological_order())}
        self.dependants = graph.reversed().edges
        self.waiting = {step: set(needs) for step, needs in graph.edges.items()}
        self.ready = sorted(step for step, needs in self.waiting.items() if not needs)
        self.in_flight: dict[Future[str | None], str] = {}
        self.succeeded: set[str] = set()
        self.details: dict[str, str] = {}
        self.failed: dict[str, str] = {}
        self.skipped: set[str] = set()
        self.interrupted = False
        self.ctrl_c = threading.Event()

    def go(self, limit: int) -> WalkResult:
        with (_ctrl_c_sets(self.ctrl_c),
              ThreadPoolExecutor(max_workers=limit, thread_name_prefix="argos-step") as pool):
            while True:
                try:
                    if not self._turn(pool, limit):
                        break
                except KeyboardInterrupt:  # from a handler that raises it: drain, then return
                    self._interrupt()
        decided = self.succeeded | self.failed.keys() | self.skipped
        return WalkResult(
            succeeded=set(self.succeeded), failed=dict(self.failed), skipped=set(self.skipped),
            not_started=set(self.graph.steps - decided), interrupted=self.interrupted,
            details=dict(self.details))

    def _turn(self, pool: ThreadPoolExecutor, limit: int) -> bool:
        """Start what may start, collect what finished; False once nothing is left to do."""
        if self.ctrl_c.is_set() or (self.stop is not None and self.stop.is_set()):
            self._interrupt()
        if not self.interrupted:
            while self.ready and len(self.in_flight) < limit:
                self._start(pool, heapq.heappop(self.ready))
        if not self.in_flight:
            return False
        done, _ = wait(self.in_flight, timeout=None if self.interrupted else _POLL_SECONDS,
                       return_when=FIRST_COMPLETED)
        for future in sorted(done, key=lambda f: self.in_flight[f]):
            self._collect(future)
        return True

    def _start(self, pool: ThreadPoolExecutor, step: str) -> None:
        self._emit(StepStarted(step))
        self.in_flight[pool.submit(self.run, step)] = step

    def _collect(self, future: Future[str | None]) -> None:
        step = self.in_flight.pop(future)
        error = future.exception()
        if error is None:
            value = future.result()
            self.succeeded.add(step)
            self.details[step] = "" if value is None else str(value)
            self._emit(StepSucceeded(step, self.details[step]))
            for dependant in sorted(self.dependants[step]):
                self.waiting[dependant].discard(step)
                if not self.waiting[dependant]:
                    heapq.heappush(self.ready, dependant)
        elif isinstance(error, KeyboardInterrupt | Interrupted):
            log.debug("step %s was interrupted", step)
            self._interrupt()  # the step stays undecided: not_started, redone on resume
        else:
            log.debug("step %s failed", step, exc_info=error)
            self.failed[step] = one_line(error)
            self._emit(StepFailed(step, self.failed[step]))
            self._skip_descendants_of(step)

    def _skip_descendants_of(self, step: str) -> None:
        because = f"needs {step}, which failed"
        for descendant in sorted(self.graph.descendants(step), key=self.order.__getitem__):
            if descendant not in self.skipped:
                self.skipped.add(descendant)
                self._emit(StepSkipped(descendant, because))

    def _interrupt(self) -> None:
        if not self.interrupted:
            self.interrupted = True
            self._emit(WalkInterrupted(tuple(sorted(self.in_flight.values()))))

    def _emit(self, event: Event) -> None:
        self.hook.on_event(event)


@contextmanager
def _ctrl_c_sets(flag: threading.Event) -> Iterator[None]:
    """While the walk runs, Ctrl-C sets `flag` instead of raising KeyboardInterrupt.

    Only in the main thread and only over Python's default handler (a CLI that installs its
    own sets `stop` instead). A KeyboardInterrupt can land anywhere, e.g. between handing a
    step to the pool and recording it, and the walk would lose track of a running step.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: flag.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
