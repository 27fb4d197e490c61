"""What every kind module shares: the execution context and the kind's shape.

Each module in `kinds/` has the same sections, in this order (STYLE §5):
`KIND`, `read(clients, scope) -> list[Actual]` (one batched, tag-filtered,
paginated describe), `parse(raw) -> Actual` (AWS spelling → ours, only
there), `diff(want, have) -> Change` (pure), `*_request(...)` builders
(pure), `apply(ctx, change) -> str` (create/update/replace; returns the id),
`delete(ctx, have) -> None` (gone counts as done).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from argos_cloud.clock import Clock
from argos_cloud.config import EnvironmentSpec
from argos_cloud.model.facts import Facts
from argos_cloud.model.names import Scope
from argos_cloud.plan.types import Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients


class Outputs:
    """Thread-safe address → id (and extra attributes) as steps finish.

    Filled from discovery first (what exists), then by each step's result, so
    a step finds the ids of what it needs whether it was made now or before.
    """

    def __init__(self, initial: Mapping[str, str] | None = None) -> None:
        self._ids: dict[str, str] = dict(initial or {})
        self._attrs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def set(self, address: str, ident: str, **attrs: Any) -> None:
        with self._lock:
            self._ids[address] = ident
            self._attrs.setdefault(address, {}).update(attrs)

    def id(self, address: str) -> str:
        with self._lock:
            if address not in self._ids:
                raise KeyError(f"{address} has no id yet (it was not created)")
            return self._ids[address]

    def get(self, address: str) -> str | None:
        with self._lock:
            return self._ids.get(address)

    def attr(self, address: str, name: str, default: Any = None) -> Any:
        with self._lock:
            return self._attrs.get(address, {}).get(name, default)



@dataclass
class Context:
    """Everything a step needs to act; passed in, never global."""

    clients: Clients
    scope: Scope
    spec: EnvironmentSpec
    facts: Facts
    outputs: Outputs
    clock: Clock
    progress: Callable[[str, str], None] = lambda step, message: None
    notes: list[str] = field(default_factory=list)
    timeout: float = 1800.0
    # Things steps build from the run's own results (e.g. the Salt bundle, which
    # needs the database's address): name → callable(ctx) or value.
    artifacts: dict[str, Any] = field(default_factory=dict)

    @property
    def emulated(self) -> bool:
        return self.clients.emulated

    def note(self, text: str) -> None:
        """Something the user must know (e.g. what the emulator could not prove)."""
        if text not in self.notes:
            self.notes.append(text)


class KindModule(Protocol):
    KIND: str

    def read(self, clients: Clients, scope: Scope) -> list[Actual]: ...
    def diff(self, want: Resource, have: Actual) -> Change: ...
    def apply(self, ctx: Context, change: Change) -> str: ...
    def delete(self, ctx: Context, have: Actual) -> None: ...


def first_difference(want: Mapping[str, Any], have: Mapping[str, Any],
                     keys: tuple[str, ...]) -> tuple[str, ...]:
    """The keys among `keys` whose values differ (None in `have` counts as unknown: equal)."""
    return tuple(k for k in keys if k in have and have[k] is not None and want.get(k) != have[k])
