"""References between resources, compared by id: one rule for every kind. Pure.

A desired resource names what it uses by address (`security_group.lb`); what
exists names it by id (`sg-0abc`). Each kind declares its `references`; the
planner resolves each address to the id it has (or learns it will be made
anew) and compares it with what the discovered resource points at, so
replacing a reference by hand is drift like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from argos_cloud.plan.types import Action, Actual, Change, Resource


@dataclass(frozen=True)
class Reference:
    """A spec key holding another resource's address, and the discovered attribute
    holding the id (or the list of ids) it points at now.

    `on_change` is what the dependant needs when the reference moves: most kinds
    can be pointed elsewhere in place (update); some belong to their target and
    must be made again (replace).
    """

    key: str
    attr: str
    on_change: Action = Action.UPDATE


@dataclass(frozen=True)
class Target:
    """What a referenced address resolves to: its id, or a pending create/replace."""

    address: str
    ident: str | None = None
    pending: Action | None = None  # CREATE or REPLACE: the id is not known yet


def target_in(changes: Iterable[Change]) -> Callable[[str], Target | None]:
    """Resolve addresses against the plan's other changes (what they have or will have)."""
    by_address = {c.address: c for c in changes if c.action is not Action.DELETE}

    def resolve(address: str) -> Target | None:
        change = by_address.get(address)
        if change is None:
            return None
        if change.action in (Action.CREATE, Action.REPLACE):
            return Target(address, pending=change.action)
        return Target(address, change.before.id) if change.before is not None else None

    return resolve


def target_ids(lookup: Callable[[str], str | None]) -> Callable[[str], Target | None]:
    """Resolve addresses to ids already known (a run's outputs)."""

    def resolve(address: str) -> Target | None:
        ident = lookup(address)
        return Target(address, ident) if ident is not None else None

    return resolve


@dataclass(frozen=True)
class Drift:
    """One reference that differs, and why (for the change's reason)."""

    key: str
    action: Action
    reason: str


def _ids(value: object) -> list[str]:
    if isinstance(value, (list, tuple)):
        return sorted(str(v) for v in value)
    return [str(value)]


def drifts(want: Resource, have: Actual, references: Sequence[Reference],
           resolve: Callable[[str], Target | None]) -> list[Drift]:
    """Every reference of `want` that `have` does not point at (unknowns are not drift)."""
    out: list[Drift] = []
    for ref in references:
        address = want.spec.get(ref.key)
        current = have.attrs.get(ref.attr)
        if current is None:
            continue  # what exists does not say: not comparable
        if address is None:
            if _ids(current):
                out.append(Drift(ref.key, ref.on_change, f"{ref.key} should be none"))
            continue
        target = resolve(str(address))
        if target is None:
            continue
        if target.pending is not None:
            made = "made" if target.pending is Action.CREATE else "replaced"
            out.append(Drift(ref.key, ref.on_change,
                             f"its {ref.key} ({target.address}) will be {made}"))
        elif target.ident is not None and _ids(current) != [target.ident]:
            had = ", ".join(_ids(current)) or "none"
            out.append(Drift(ref.key, ref.on_change,
                             f"{ref.key} is {had}, not {target.address} ({target.ident})"))
    return out


def with_drifts(change: Change, found: Sequence[Drift]) -> Change:
    """The kind's own verdict, widened by the references that drifted.

    A replace stays a replace; otherwise the strongest action wins and every
    drifted reference is named in the reason and the fields.
    """
    new = [d for d in found if d.key not in change.fields]
    if not new or change.after is None or change.before is None:
        return change  # a create or a delete: nothing to compare
    if change.action is Action.REPLACE:
        return change
    action = (Action.REPLACE if any(d.action is Action.REPLACE for d in new)
              else Action.UPDATE)
    reasons = [d.reason for d in new]
    if change.action is Action.UPDATE:
        reasons.insert(0, change.reason)
    fields = (*change.fields, *(d.key for d in new))
    make = Change.replace if action is Action.REPLACE else Change.update
    return replace(make(change.after, change.before, "; ".join(reasons), fields),
                   details=change.details)
