"""Desired × discovered → Plan. Pure: every kind's `diff` decides, this only matches.

What tags find but the model lacks becomes a delete; a second resource at one
address (an interrupted run's twin) is deleted too. Records kept under the
environment's parameter path (lock, history, deployed commit) are never planned,
and old images are left for `clean`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from argos_cloud.discovery import ActualState
from argos_cloud.kinds import KIND_NAMES, kind_module
from argos_cloud.plan.cost import CostEstimate, cost_of_actuals, cost_of_resources
from argos_cloud.plan.details import details
from argos_cloud.plan.types import Action, Actual, Change, Plan, Resource

# Kinds and roles that commission never deletes even when the model lacks them.
KEEP_ROLES = frozenset({"record"})
KEEP_KINDS = frozenset({"image", "snapshot"})
# Spec keys that hold another resource's address and that the kind compares by id.
REFERENCES = {"launch_template": ("image", "security_group")}


def build_plan(desired: Iterable[Resource], actual: ActualState, *, project: str,
               environment: str, notes: Iterable[str] = ()) -> Plan:
    found = actual.by_address()
    changes: list[Change] = []
    wanted: set[str] = set()
    for want in desired:
        wanted.add(want.address)
        haves = found.get(want.address, [])
        if want.kind == "image":  # images are matched by name: one per digest
            haves = [h for h in haves if h.name == want.name]
        if not haves:
            changes.append(Change.create(want))
            continue
        changes.append(_diff(want, haves[0], changes))
        changes += [Change.delete(extra, f"duplicate of {haves[0].id}") for extra in haves[1:]]
    for have in actual.all():
        if have.address in wanted or have.role in KEEP_ROLES or have.kind in KEEP_KINDS:
            continue
        changes.append(Change.delete(have, "not in the configuration"))
    order = {k: i for i, k in enumerate(KIND_NAMES)}
    deletes = sorted((c for c in changes if c.action is Action.DELETE),
                     key=lambda c: (order.get(c.kind, 99), c.address))
    keep = [c for c in changes if c.action is not Action.DELETE]
    ordered = _with_details([*keep, *deletes])
    return Plan(environment=environment, project=project, changes=tuple(ordered),
                fingerprint=actual.fingerprint, notes=tuple(notes), cost=_cost(ordered))


def _with_details(changes: list[Change]) -> list[Change]:
    """Each change with its reviewable attributes; references shown as what they become."""
    by_address = {c.address: c for c in changes if c.action is not Action.DELETE}

    def resolve(value: object) -> object:
        target = by_address.get(value) if isinstance(value, str) else None
        if target is None:
            return value
        if target.action in (Action.CREATE, Action.REPLACE):
            return f"(new) {target.name}"
        return target.before.id if target.before is not None else value

    return [replace(c, details=details(c, resolve)) for c in changes]


def _cost(changes: list[Change]) -> CostEstimate:
    """Hourly before (what exists) and after (what the configuration asks for)."""
    before, unpriced_before = cost_of_actuals(c.before for c in changes
                                              if c.before is not None)
    after, unpriced_after = cost_of_resources(c.after for c in changes
                                              if c.after is not None
                                              and c.action is not Action.DELETE)
    return CostEstimate(before, after, tuple(sorted({*unpriced_before, *unpriced_after})))


def _diff(want: Resource, have: Actual, earlier: list[Change]) -> Change:
    """The kind's diff, with references resolved to the ids they will have.

    A reference to something about to be made (a new image bake) changes the
    dependant; one to something unchanged is compared by its existing id.
    """
    keys = REFERENCES.get(want.kind, ())
    if not keys:
        change: Change = kind_module(want.kind).diff(want, have)
        return change
    by_address = {c.address: c for c in earlier}
    resolved = dict(want.spec)
    for key in keys:
        target = by_address.get(str(want.spec.get(key)))
        if target is None:
            continue
        if target.action in (Action.CREATE, Action.REPLACE):
            return Change.update(want, have, f"its {key} ({target.address}) will be "
                                 f"{'made' if target.action is Action.CREATE else 'replaced'}: "
                                 "new version", (key,))
        if target.before is not None:
            resolved[key] = target.before.id
    diffed: Change = kind_module(want.kind).diff(replace(want, spec=resolved), have)
    return replace(diffed, after=want)  # execution resolves addresses itself
