"""What every kind module shares: the execution context and the kind's shape.

Each module in `kinds/` has the same sections, in this order (STYLE §5):
`KIND`, `read(clients, scope) -> list[Actual]` (one batched, tag-filtered,
paginated describe), `parse(raw) -> Actual` (AWS spelling → ours, only
there), `diff(want, have) -> Change` (pure), `*_request(...)` builders
(pure), `apply(ctx, change) -> str` (create/update/replace; returns the id),
`delete(ctx, have) -> None` (gone counts as done).

Besides, each module declares what the planner and the teardown read, so no
kind is named outside `kinds/`: `match(want, haves)` (which existing resource
a wanted one is) and `DECLARED` (a `Declared`, stating only what differs from
the defaults). `KindModule` is that shape; `kinds.kind_module` returns it, so
mypy checks every module.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from argos_cloud.clock import Clock
from argos_cloud.config import EnvironmentSpec
from argos_cloud.model.facts import Facts
from argos_cloud.model.names import Scope
from argos_cloud.plan.cost import Priced
from argos_cloud.plan.details import Shown
from argos_cloud.plan.references import Reference
from argos_cloud.plan.types import Action, Actual, Change, Resource

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


class Noting:
    """`emulated` and `note`, shared by a step's `Context` and a workflow's `Session`."""

    clients: Clients
    notes: list[str]

    @property
    def emulated(self) -> bool:
        return self.clients.emulated

    def note(self, text: str) -> None:
        """Something the user must know (e.g. what the emulator could not prove)."""
        if text not in self.notes:
            self.notes.append(text)


@dataclass
class Context(Noting):
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
    # What steps build from the run's own results, injected by the workflow so
    # kinds never import provision/: the Salt bundle (it needs the database's
    # address) and the image bake (it needs a remote executor and the state tree).
    bundle_builder: BundleBuilder | None = None
    bake: Bake | None = None


# (ctx) → (bundle body, its digest, the commit its pillar names)
BundleBuilder = Callable[[Context], tuple[bytes, str, str]]
# (ctx, wanted image) → the baked image's id
Bake = Callable[[Context, Resource], str]


@dataclass(frozen=True)
class Teardown:
    """What a kind's resources must be deleted after (moto does not check this; AWS does).

    `after`: kinds whose resources go first. `last`: after everything not last
    (secrets and records, which a failed teardown still needs). `unlink_after`:
    the kind's resources reference each other, so one step cuts those references
    first, once these kinds are gone; `unlink` is that cut. `snapshot_roles`:
    resources of these roles wait for the final snapshot; `snapshot` takes it of
    this kind's resources of those roles. `shared`: one per project, shared by
    its environments, so an environment's teardown leaves it unless asked.
    """

    after: tuple[str, ...] = ()
    last: bool = False
    unlink_after: tuple[str, ...] = ()
    unlink: Callable[[Context, Actual], None] | None = None
    snapshot_roles: tuple[str, ...] = ()
    # (ctx, resource, why) → the snapshot's id, kept after the resource is gone
    snapshot: Callable[[Context, Actual, str], str] | None = None
    shared: bool = False

    def snapshots(self, a: Actual) -> bool:
        """Is `a` copied by the final snapshot before it goes?"""
        return self.snapshot is not None and a.role in self.snapshot_roles


@dataclass(frozen=True)
class Declared:
    """What the planner and the teardown read of a kind; the defaults suit most kinds.

    `references`: spec keys holding another resource's address, compared by id.
    `keep_roles`: roles commission never deletes when the model lacks them.
    `shown`: what a reviewer sees of a change. `priced`: what it costs.
    `teardown`: what must be deleted first.
    """

    references: tuple[Reference, ...] = ()
    keep_roles: frozenset[str] = frozenset()
    shown: tuple[Shown, ...] = ()
    priced: Priced = field(default_factory=Priced)
    teardown: Teardown = field(default_factory=Teardown)


class KindModule(Protocol):
    """The shape of every module in `kinds/` (checked by mypy in `kinds/__init__.py`)."""

    @property
    def KIND(self) -> str: ...
    @property
    def DECLARED(self) -> Declared: ...

    def read(self, clients: Clients, scope: Scope) -> list[Actual]: ...
    def match(self, want: Resource, haves: Sequence[Actual]) -> list[Actual]: ...
    def diff(self, want: Resource, have: Actual) -> Change: ...
    def apply(self, ctx: Context, change: Change) -> str: ...
    def delete(self, ctx: Context, have: Actual) -> None: ...


def same_address(want: Resource, haves: Sequence[Actual]) -> list[Actual]:
    """The usual match: whatever discovery found at the wanted address, in its order.

    More than one means an interrupted run's twin: the plan keeps the first and
    deletes the rest.
    """
    return list(haves)


def make_way(ctx: Context, change: Change, delete: Callable[[Context, Actual], None]) -> bool:
    """Whether `apply` must create: not for an update; a replace deletes the old one first."""
    if change.action is Action.REPLACE and change.before is not None:
        delete(ctx, change.before)
    return change.action is not Action.UPDATE


def client_token(scope: Scope, address: str, body: Any) -> str:
    """Deterministic: a retried create of the same thing is the same request to AWS,
    so a retry makes no twin (64 characters: the shortest limit, EC2's)."""
    text = json.dumps({"scope": [scope.project, scope.environment], "address": address,
                       "body": body}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:64]


def first_difference(want: Mapping[str, Any], have: Mapping[str, Any],
                     keys: tuple[str, ...]) -> tuple[str, ...]:
    """The keys among `keys` whose values differ (None in `have` counts as unknown: equal)."""
    return tuple(k for k in keys if k in have and have[k] is not None and want.get(k) != have[k])
