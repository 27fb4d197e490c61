"""`status`: everything tagged for the environment, by role, with an hourly estimate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from argos_cloud.discovery import discover
from argos_cloud.plan.types import Actual
from argos_cloud.workflows.session import Session

# On-demand Linux USD/hour in us-east-1 (2025 list prices): an estimate, not a bill.
HOURLY_USD = {
    "t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832,
    "m6i.large": 0.096, "m6i.xlarge": 0.192, "c6i.large": 0.085, "r6i.large": 0.126,
}
ALB_HOURLY_USD = 0.0225
GP3_GB_MONTH_USD = 0.08
ROLE_ORDER = ("lb", "master", "database", "broker", "app", "worker", "shared", "image", "record")


@dataclass
class StatusReport:
    environment: str
    project: str
    by_role: dict[str, list[Actual]]
    deployed_ref: str | None
    lock: dict[str, Any] | None
    hourly_usd: float
    unpriced: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(self.by_role.values())

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "environment": self.environment,
                "empty": self.empty, "deployed_ref": self.deployed_ref, "lock": self.lock,
                "hourly_cost_estimate_usd": round(self.hourly_usd, 4),
                "unpriced_instance_types": self.unpriced,
                "roles": {role: [a.to_json() for a in items]
                          for role, items in self.by_role.items()},
                "notes": self.notes}


def _describe(a: Actual) -> str:
    attrs = a.attrs
    bits = []
    for key in ("state", "instance_type", "private_ip", "dns_name", "size"):
        if attrs.get(key):
            bits.append(f"{key}={attrs[key]}")
    if a.kind == "auto_scaling_group":
        bits.append(f"desired={attrs.get('desired')} in_service={attrs.get('in_service', 0)}")
    return " ".join(bits)


def short_id(a: Actual) -> str:
    """For a table: an ARN's resource part; nothing when the id is the name."""
    if a.id == a.name:
        return ""
    if a.id.startswith("arn:"):
        return a.id.split(":", 5)[-1]
    return a.id


def text_rows(report: StatusReport) -> list[tuple[str, str, str, str, str]]:
    return [(role, a.kind.replace("_", " "), a.name, short_id(a), _describe(a))
            for role, items in report.by_role.items() for a in items]


def _cost(items: list[Actual]) -> tuple[float, list[str]]:
    total, unpriced = 0.0, []
    template_types = {a.role: a.attrs.get("instance_type") for a in items
                      if a.kind == "launch_template"}
    for a in items:
        itype = a.attrs.get("instance_type")
        if a.kind == "instance" and itype:
            if itype in HOURLY_USD:
                total += HOURLY_USD[itype]
            else:
                unpriced.append(str(itype))
        elif a.kind == "auto_scaling_group":
            count = len(a.attrs.get("instances") or []) or int(a.attrs.get("desired") or 0)
            itype = a.attrs.get("instance_type") or template_types.get(a.role)
            if itype in HOURLY_USD:
                total += HOURLY_USD[itype] * count
            elif itype:
                unpriced.append(str(itype))
        elif a.kind == "load_balancer":
            total += ALB_HOURLY_USD
        elif a.kind == "volume" and a.attrs.get("size"):
            total += float(a.attrs["size"]) * GP3_GB_MONTH_USD / 730
    return total, sorted(set(unpriced))


def status(session: Session) -> StatusReport:
    """Read only: one discovery, the deployed commit and the lock holder."""
    actual = discover(session.clients, session.scope)
    by_role: dict[str, list[Actual]] = {}
    for a in actual.all():
        if a.role == "record":
            continue
        by_role.setdefault(a.role or "unknown", []).append(a)
    order = {r: i for i, r in enumerate(ROLE_ORDER)}
    by_role = dict(sorted(by_role.items(), key=lambda kv: order.get(kv[0], 99)))
    deployed = session.deployed_commit()
    holder = session.lock("status").holder()
    lock = None
    if holder is not None:
        lock = {"who": holder.who, "operation": holder.operation, "since": holder.created,
                "expires": holder.expires}
    cost, unpriced = _cost([a for items in by_role.values() for a in items])
    return StatusReport(environment=session.spec.name, project=session.spec.project,
                        by_role=by_role, deployed_ref=deployed, lock=lock, hourly_usd=cost,
                        unpriced=unpriced, notes=list(session.notes))
