"""What the walk tells the outside world: small event values sent to a `Hook`.

Views render events, the journal records them, tests collect them; the walk never prints.
The walk sends every event from the walking thread except `StepProgress`, which a step
sends from its worker thread, so a hook must be thread-safe. Imports nothing of ours.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol, TypeVar


@dataclass(frozen=True)
class StepStarted:
    step: str


@dataclass(frozen=True)
class StepSucceeded:
    step: str
    detail: str  # what the step made or found, e.g. an id; may be ""


@dataclass(frozen=True)
class StepFailed:
    step: str
    error: str  # one line


@dataclass(frozen=True)
class StepSkipped:
    step: str
    because: str  # e.g. "needs app, which failed"


@dataclass(frozen=True)
class StepProgress:
    step: str
    message: str  # e.g. "waiting for db instance: pending"


@dataclass(frozen=True)
class WalkInterrupted:
    """Sent once when the walk stops starting steps; `running` will still finish."""

    running: tuple[str, ...]


Event = StepStarted | StepSucceeded | StepFailed | StepSkipped | StepProgress | WalkInterrupted
E = TypeVar("E", StepStarted, StepSucceeded, StepFailed, StepSkipped, StepProgress,
            WalkInterrupted)


class Hook(Protocol):
    def on_event(self, event: Event) -> None: ...


class NullHook:
    """Listens to nothing: the walk's default."""

    def on_event(self, event: Event) -> None:
        return None


class RecordingHook:
    """Keeps every event in arrival order (thread-safe); for tests and the journal."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []

    def on_event(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def of(self, kind: type[E]) -> list[E]:
        """The events of one kind, in order."""
        return [e for e in self.events if isinstance(e, kind)]

    def steps(self, kind: type[StepStarted | StepSucceeded | StepFailed | StepSkipped
                                | StepProgress]) -> list[str]:
        """The steps named by events of one kind, in order."""
        return [e.step for e in self.events if isinstance(e, kind)]


class MultiHook:
    """Sends each event to several hooks in turn (a view and the journal, say)."""

    def __init__(self, *hooks: Hook) -> None:
        self.hooks: tuple[Hook, ...] = hooks

    def on_event(self, event: Event) -> None:
        for hook in self.hooks:
            hook.on_event(event)
