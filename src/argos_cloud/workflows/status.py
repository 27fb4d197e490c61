"""`status`: is it working? Every instance with its health and commit, by role, and the cost.

Read calls only, one batched read per kind: discovery for the resources, one
describe of every instance (group members included), one target-health read
per target group, the deployed commit, the lock and the last journal entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from argos_cloud.discovery import discover
from argos_cloud.kinds import KIND_NAMES
from argos_cloud.plan.cost import cost_of_actuals
from argos_cloud.plan.types import Actual
from argos_cloud.planning import priced
from argos_cloud.workflows.session import Session

ROLE_ORDER = ("lb", "master", "database", "broker", "app", "worker", "shared", "image", "record")
GROUP_ROLES = ("app", "worker")
OTHER_COMMIT, NO_COMMIT, OLDER_IMAGE = "other commit", "commit not recorded", "older image"


@dataclass(frozen=True)
class InstanceRow:
    """One instance as status shows it; `flags` say what is off."""

    id: str
    role: str
    group: str | None
    state: str
    private_ip: str | None
    public_ip: str | None
    image_id: str | None
    instance_type: str | None
    commit: str | None
    health: str | None  # load balancer target health (app members)
    flags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "role": self.role, "group": self.group, "state": self.state,
                "private_ip": self.private_ip, "public_ip": self.public_ip,
                "image_id": self.image_id, "instance_type": self.instance_type,
                "commit": self.commit, "target_health": self.health, "flags": list(self.flags)}


@dataclass(frozen=True)
class RollProgress:
    """How many of a group's instances run its launch template's current image."""

    role: str
    image_id: str | None
    on_current: int
    total: int

    @property
    def done(self) -> bool:
        return self.on_current == self.total

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "image_id": self.image_id, "on_current_image":
                self.on_current, "instances": self.total, "done": self.done}


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
    instances: list[InstanceRow] = field(default_factory=list)
    url: str | None = None
    last_operation: dict[str, Any] | None = None
    rolls: list[RollProgress] = field(default_factory=list)
    scales: list[dict[str, Any]] = field(default_factory=list)  # recorded `scale`s, by role

    @property
    def empty(self) -> bool:
        return not any(self.by_role.values())

    @property
    def flagged(self) -> list[InstanceRow]:
        return [i for i in self.instances if i.flags]

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "environment": self.environment,
                "empty": self.empty, "url": self.url, "deployed_ref": self.deployed_ref,
                "lock": self.lock, "last_operation": self.last_operation,
                "hourly_cost_estimate_usd": round(self.hourly_usd, 4),
                "unpriced_instance_types": self.unpriced,
                "instances": [i.to_json() for i in self.instances],
                "image_rollout": [r.to_json() for r in self.rolls],
                "scales": self.scales,
                "roles": {role: [a.to_json() for a in items]
                          for role, items in self.by_role.items()},
                "notes": self.notes}


def instance_flags(role: str, group: str | None, commit: str | None, image: str | None,
                   deployed: str | None, current_image: str | None) -> tuple[str, ...]:
    """Pure: what is off with one instance (app and worker members only run the app)."""
    if group is None or role not in GROUP_ROLES:
        return ()
    flags = []
    if deployed and commit is None:
        flags.append(NO_COMMIT)
    elif deployed and commit != deployed:
        flags.append(OTHER_COMMIT)
    if current_image and image and image != current_image:
        flags.append(OLDER_IMAGE)
    return tuple(flags)


def status(session: Session) -> StatusReport:
    """Read only: one discovery, every instance, target health, commit, lock, last operation."""
    from argos_cloud.kinds import instance, target_group

    clients, scope = session.clients, session.scope
    actual = discover(clients, scope, [k for k in KIND_NAMES if k != "instance"])
    machines = instance.read_all(clients, scope)
    by_role: dict[str, list[Actual]] = {}
    for a in [*actual.all(), *(m for m in machines if not m.attrs.get("group"))]:
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
    health: dict[str, str] = {}
    for tg in actual.by_kind.get("target_group", []):
        health.update(target_group.target_health(clients, tg.id))
    images = {a.role: a.attrs.get("image_id") for a in actual.by_kind.get("launch_template", [])}
    rows = [InstanceRow(
        id=m.id, role=m.role, group=m.attrs.get("group"), state=str(m.attrs.get("state")),
        private_ip=m.attrs.get("private_ip"), public_ip=m.attrs.get("public_ip"),
        image_id=m.attrs.get("image_id"), instance_type=m.attrs.get("instance_type"),
        commit=m.attrs.get("commit"), health=health.get(m.id),
        flags=instance_flags(m.role, m.attrs.get("group"), m.attrs.get("commit"),
                             m.attrs.get("image_id"), deployed, images.get(m.role)))
        for m in machines]
    rolls = [RollProgress(role, images.get(role),
                          sum(1 for r in rows if r.role == role and r.group
                              and r.image_id == images.get(role)),
                          sum(1 for r in rows if r.role == role and r.group))
             for role in GROUP_ROLES if role in images]
    lbs = actual.by_kind.get("load_balancer", [])
    url = f"http://{lbs[0].attrs['dns_name']}/" if lbs and lbs[0].attrs.get("dns_name") else None
    last = session.journal().entries(1)
    last_operation = None
    if last:
        e = last[0]
        last_operation = {"command": e.command, "result": e.result, "who": e.who, "at": e.at,
                          "finished": e.finished, "commit": e.commit,
                          "failed_step": e.failed_step}
    from argos_cloud.workflows.scale import effective_spec

    scaled = effective_spec(session)
    scales = [{**s.to_json(), "in_force": True} for s in scaled.applied.values()]
    scales += [{**s.to_json(), "in_force": False} for s in scaled.superseded.values()]
    everything = [a for items in by_role.values() for a in items]
    cost, unpriced = cost_of_actuals(everything, priced)
    return StatusReport(environment=session.spec.name, project=session.spec.project,
                        by_role=by_role, deployed_ref=deployed, lock=lock, hourly_usd=cost,
                        unpriced=unpriced, notes=list(session.notes), instances=rows,
                        url=url, last_operation=last_operation, rolls=rolls, scales=scales)
