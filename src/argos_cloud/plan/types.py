"""The values every layer passes around: desired resources, discovered ones, changes.

A `Resource` is what the model wants, an `Actual` what discovery found (tags
name its role), a `Change` the step that closes the gap, with its reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


def address(kind: str, role: str, key: str = "") -> str:
    """`kind.role` or `kind.role.key`: a resource's name within its environment."""
    return f"{kind}.{role}.{key}" if key else f"{kind}.{role}"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NOOP = "no-op"


SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.REPLACE: "-/+", Action.DELETE: "-",
          Action.NOOP: " "}


@dataclass(frozen=True)
class Resource:
    """One desired resource: `kind.role` is its address within an environment."""

    kind: str
    role: str
    name: str
    spec: Mapping[str, Any]
    needs: tuple[str, ...] = ()
    key: str = ""  # tells apart several resources of one kind and role

    @property
    def address(self) -> str:
        return address(self.kind, self.role, self.key)


@dataclass(frozen=True)
class Actual:
    """One discovered resource, in our spelling (each kind's `parse` makes it)."""

    kind: str
    role: str
    id: str
    name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    attrs: Mapping[str, Any] = field(default_factory=dict)
    key: str = ""

    @property
    def address(self) -> str:
        return address(self.kind, self.role, self.key)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "role": self.role, "key": self.key, "id": self.id,
                "name": self.name,
                "attrs": {k: v for k, v in self.attrs.items() if _jsonable(v)}}


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True


@dataclass(frozen=True)
class Detail:
    """One attribute of a change: `before` None when made, `after` None when removed."""

    field: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}

    def text(self) -> str:
        if self.before is None:
            return f"+ {self.field} = {self.after}"
        if self.after is None:
            return f"- {self.field} = {self.before}"
        return f"~ {self.field}: {self.before} → {self.after}"


@dataclass(frozen=True)
class Change:
    """One step of a plan. `after` is the desired resource, `before` what exists."""

    action: Action
    kind: str
    role: str
    name: str
    reason: str
    after: Resource | None = None
    before: Actual | None = None
    needs: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()  # what differs (update/replace)
    key: str = ""
    details: tuple[Detail, ...] = ()  # what a reviewer sees (plan/details.py)

    @property
    def address(self) -> str:
        return address(self.kind, self.role, self.key)

    @classmethod
    def create(cls, want: Resource, reason: str = "does not exist") -> Change:
        return cls(Action.CREATE, want.kind, want.role, want.name, reason, after=want,
                   needs=want.needs, key=want.key)

    @classmethod
    def noop(cls, want: Resource, have: Actual, reason: str) -> Change:
        return cls(Action.NOOP, want.kind, want.role, want.name, reason, after=want,
                   before=have, needs=want.needs, key=want.key)

    @classmethod
    def update(cls, want: Resource, have: Actual, reason: str,
               fields: tuple[str, ...] = ()) -> Change:
        return cls(Action.UPDATE, want.kind, want.role, want.name, reason, after=want,
                   before=have, needs=want.needs, fields=fields, key=want.key)

    @classmethod
    def replace(cls, want: Resource, have: Actual, reason: str,
                fields: tuple[str, ...] = ()) -> Change:
        return cls(Action.REPLACE, want.kind, want.role, want.name, reason, after=want,
                   before=have, needs=want.needs, fields=fields, key=want.key)

    @classmethod
    def delete(cls, have: Actual, reason: str) -> Change:
        return cls(Action.DELETE, have.kind, have.role, have.name, reason, before=have,
                   key=have.key)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action.value, "kind": self.kind,
                               "role": self.role, "name": self.name, "reason": self.reason,
                               "address": self.address}
        if self.before is not None:
            out["id"] = self.before.id
        if self.fields:
            out["fields"] = list(self.fields)
        if self.details:
            out["details"] = [d.to_json() for d in self.details]
        return out


@dataclass(frozen=True)
class CostEstimate:
    """Hourly USD before and after a plan; `unpriced` names types the table lacks."""

    before: float
    after: float
    unpriced: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"hourly_usd_before": round(self.before, 4),
                "hourly_usd_after": round(self.after, 4),
                "unpriced_instance_types": list(self.unpriced)}


@dataclass(frozen=True)
class Plan:
    """Every change, in order; `fingerprint` hashes the discovered state it was made from."""

    environment: str
    project: str
    changes: tuple[Change, ...]
    fingerprint: str
    notes: tuple[str, ...] = ()
    cost: CostEstimate | None = None  # hourly, before and after (plan/cost.py)

    @property
    def pending(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is not Action.NOOP)

    @property
    def empty(self) -> bool:
        return not self.pending

    def counts(self) -> dict[str, int]:
        out = {a.value: 0 for a in Action}
        for c in self.changes:
            out[c.action.value] += 1
        return out

    def digest(self) -> str:
        body = json.dumps([c.to_json() for c in self.pending], sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "environment": self.environment,
                "fingerprint": self.fingerprint, "digest": self.digest(),
                "summary": self.counts(), "notes": list(self.notes),
                "cost": self.cost.to_json() if self.cost is not None else None,
                "actions": [c.to_json() for c in self.changes]}


def fingerprint(actuals: Mapping[str, list[Actual]]) -> str:
    """A hash of what discovery saw, to refuse executing a plan made on other facts."""
    rows = sorted((a.address, a.id) for items in actuals.values() for a in items
                  if a.role != "record")  # the lock and journal move under our own feet
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]
