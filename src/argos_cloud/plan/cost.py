"""The hourly price table shared by `plan` and `status`, and the sums made from it.

An estimate, not a bill: on-demand Linux list prices in us-east-1. A type the
table does not know is named, never guessed. Pure: no AWS call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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
    """What makes a kind's resources cost (each kind declares its `PRICED`).

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


def cost_of_actuals(items: Iterable[Actual], priced: PricedBy) -> tuple[float, list[str]]:
    """What exists costs: instances, group members, load balancers, data volumes."""
    items = list(items)
    s = _Sum()
    template_types = {a.role: a.attrs.get("instance_type") for a in items
                      if priced(a.kind).names_type}
    for a in items:
        p = priced(a.kind)
        s.total += p.hourly
        if p.instance:
            s.instances(a.attrs.get("instance_type"))
        if p.group:
            count = len(a.attrs.get("instances") or []) or int(a.attrs.get("desired") or 0)
            s.instances(a.attrs.get("instance_type") or template_types.get(a.role), count)
        if p.volume:
            s.volume(a.attrs.get("size"))
    return s.total, sorted(s.unpriced)


def cost_of_resources(items: Iterable[Resource], priced: PricedBy) -> tuple[float, list[str]]:
    """What the configuration asks for costs: the same sums from desired specs."""
    items = list(items)
    s = _Sum()
    template_types: Mapping[str, Any] = {r.role: r.spec.get("instance_type") for r in items
                                         if priced(r.kind).names_type}
    for r in items:
        p = priced(r.kind)
        s.total += p.hourly
        if p.instance:
            s.instances(r.spec.get("instance_type"))
        if p.group:
            s.instances(template_types.get(r.role), int(r.spec.get("desired") or 0))
        if p.volume:
            s.volume(r.spec.get("size"))
    return s.total, sorted(s.unpriced)
