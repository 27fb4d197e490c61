"""The hourly price table shared by `plan` and `status`, and the sums made from it.

An estimate, not a bill: on-demand Linux list prices in us-east-1. A type the
table does not know is named, never guessed. Pure: no AWS call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from argos_cloud.plan.types import Actual, Resource
from argos_cloud.plan.types import CostEstimate as CostEstimate  # its home is types.py

# On-demand Linux USD/hour in us-east-1 (2025 list prices).
HOURLY_USD = {
    "t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832,
    "m6i.large": 0.096, "m6i.xlarge": 0.192, "c6i.large": 0.085, "r6i.large": 0.126,
}
ALB_HOURLY_USD = 0.0225
GP3_GB_MONTH_USD = 0.08
HOURS_A_MONTH = 730


class _Sum:
    def __init__(self) -> None:
        self.total = 0.0
        self.unpriced: set[str] = set()

    def instances(self, itype: object, count: int = 1) -> None:
        if not itype or count <= 0:
            return
        if str(itype) in HOURLY_USD:
            self.total += HOURLY_USD[str(itype)] * count
        else:
            self.unpriced.add(str(itype))

    def volume(self, size: object) -> None:
        if size:
            self.total += float(str(size)) * GP3_GB_MONTH_USD / HOURS_A_MONTH


@dataclass(frozen=True)
class Priced:
    """What makes a kind's resources cost (each kind declares its `priced`).

    `hourly`: a fixed price each (a load balancer). `instance`: one instance of its
    `instance_type`. `group`: as many instances as it runs (or wants: `desired`),
    of the type its role's template names (`names_type`). `volume`: GiB in `size`.
    """

    hourly: float = 0.0
    instance: bool = False
    group: bool = False
    names_type: bool = False
    volume: bool = False


PricedBy = Callable[[str], Priced]  # kind → how it is priced


class _Row(NamedTuple):
    """What pricing reads of one resource, whether it exists or is wanted."""

    kind: str
    role: str
    type: object  # its own instance type, if it names one
    members: int  # how many instances a group runs or wants
    size: object  # GiB of a volume


def _cost(rows: Iterable[_Row], priced: PricedBy) -> tuple[float, list[str]]:
    rows = list(rows)
    s = _Sum()
    template_types = {r.role: r.type for r in rows if priced(r.kind).names_type}
    for r in rows:
        p = priced(r.kind)
        s.total += p.hourly
        if p.instance:
            s.instances(r.type)
        if p.group:
            s.instances(r.type or template_types.get(r.role), r.members)
        if p.volume:
            s.volume(r.size)
    return s.total, sorted(s.unpriced)


def cost_of_actuals(items: Iterable[Actual], priced: PricedBy) -> tuple[float, list[str]]:
    """What exists costs: instances, group members, load balancers, data volumes."""
    return _cost((_Row(a.kind, a.role, a.attrs.get("instance_type"),
                       len(a.attrs.get("instances") or []) or int(a.attrs.get("desired") or 0),
                       a.attrs.get("size")) for a in items), priced)


def cost_of_resources(items: Iterable[Resource], priced: PricedBy) -> tuple[float, list[str]]:
    """What the configuration asks for costs: the same sums from desired specs."""
    return _cost((_Row(r.kind, r.role, r.spec.get("instance_type"),
                       int(r.spec.get("desired") or 0), r.spec.get("size")) for r in items),
                 priced)
