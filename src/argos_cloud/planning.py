"""Desired × discovered → Plan. Every kind's declarations decide; this only matches.

Beside discovery (it reads the kinds' declarations; `plan/` stays values and
pure helpers): each wanted resource is matched to what exists by its kind's
`match`, diffed by its kind's `diff`, and its declared `references` compared by id
(plan/references.py). What tags find but the model lacks becomes a delete,
unless its kind keeps that role (`keep_roles`: the environment's records,
images left for `clean`); a second resource at one address (an interrupted
run's twin) is deleted too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from argos_cloud.discovery import ActualState
from argos_cloud.kinds import KIND_NAMES, kind_module
from argos_cloud.plan.cost import CostEstimate, Priced, cost_of_actuals, cost_of_resources
from argos_cloud.plan.details import details
from argos_cloud.plan.references import Target, drifts, target_in, with_drifts
from argos_cloud.plan.types import Action, Actual, Change, Plan, Resource


def build_plan(desired: Iterable[Resource], actual: ActualState, *, project: str,
               environment: str, notes: Iterable[str] = ()) -> Plan:
    found = actual.by_address()
    changes: list[Change] = []
    wanted: set[str] = set()
    for want in desired:
        wanted.add(want.address)
        haves = kind_module(want.kind).match(want, found.get(want.address, []))
        if not haves:
            changes.append(Change.create(want))
            continue
        changes.append(kind_module(want.kind).diff(want, haves[0]))
        changes += [Change.delete(extra, f"duplicate of {haves[0].id}") for extra in haves[1:]]
    resolve = target_in(changes)  # every kind has spoken: references, in any order
    changes = [_with_references(c, resolve) for c in changes]
    for have in actual.all():
        if have.address in wanted or kept_when_unwanted(have):
            continue
        changes.append(Change.delete(have, "not in the configuration"))
    order = {k: i for i, k in enumerate(KIND_NAMES)}
    deletes = sorted((c for c in changes if c.action is Action.DELETE),
                     key=lambda c: (order.get(c.kind, 99), c.address))
    keep = [c for c in changes if c.action is not Action.DELETE]
    ordered = _with_details([*keep, *deletes])
    return Plan(environment=environment, project=project, changes=tuple(ordered),
                fingerprint=actual.fingerprint, notes=tuple(notes), cost=_cost(ordered))


def kept_when_unwanted(have: Actual) -> bool:
    """Never planned for deletion: what its kind keeps (records, shared images)."""
    return have.kind in KIND_NAMES and have.role in kind_module(have.kind).DECLARED.keep_roles


def diff(want: Resource, have: Actual, resolve: Callable[[str], Target | None]) -> Change:
    """The kind's diff, widened by its references compared by the ids they resolve to.

    A reference to something about to be made (a new image bake) changes the
    dependant; one to something unchanged is compared by its existing id.
    """
    return _with_references(kind_module(want.kind).diff(want, have), resolve)


def priced(kind: str) -> Priced:
    """How a kind is priced, by its declaration (plan/cost.py sums)."""
    return kind_module(kind).DECLARED.priced if kind in KIND_NAMES else Priced()


def _with_references(change: Change, resolve: Callable[[str], Target | None]) -> Change:
    if change.after is None or change.before is None:
        return change
    references = kind_module(change.kind).DECLARED.references
    return with_drifts(change, drifts(change.after, change.before, references, resolve))


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

    return [replace(c, details=details(c, kind_module(c.kind).DECLARED.shown, resolve))
            for c in changes]


def _cost(changes: list[Change]) -> CostEstimate:
    """Hourly before (what exists) and after (what the configuration asks for)."""
    before, unpriced_before = cost_of_actuals((c.before for c in changes
                                               if c.before is not None), priced)
    after, unpriced_after = cost_of_resources((c.after for c in changes
                                               if c.after is not None
                                               and c.action is not Action.DELETE), priced)
    return CostEstimate(before, after, tuple(sorted({*unpriced_before, *unpriced_after})))
