"""Rolling the app and worker groups onto a new image, batch by batch.

After a new bake the launch templates' default version names the new image, but
running members keep the old one. Each batch first starts as many new instances
as it will replace (the group grows, its maximum raised for the while), waits
until they are in service and healthy (behind the load balancer for app), and
only then takes the old ones out: the group never has fewer healthy members than
before, so never fewer than its minimum. A batch that does not turn healthy stops
the roll; its new instances go, and the old ones keep serving. moto has no
Instance Refresh, so this is built from calls it has, on an injected clock.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from argos_cloud.clock import Clock
from argos_cloud.errors import OperationFailed
from argos_cloud.waiting import wait_for
from argos_cloud.workflows.operation import Operation, operation

if TYPE_CHECKING:
    from argos_cloud.workflows.session import Session

ROLES = ("app", "worker")
BATCH_SHARE = 0.5  # of the members on the old image, at least one
HEALTH_TIMEOUT = 900.0


class Group(Protocol):
    role: str

    def sizes(self) -> tuple[int, int, int]: ...
    def members(self) -> list[dict[str, Any]]: ...
    def set_capacity(self, desired: int, max_size: int) -> None: ...
    def terminate(self, instance_id: str) -> None: ...
    def target_health(self) -> dict[str, str]: ...
    def uses_load_balancer(self) -> bool: ...


@dataclass
class RollBatch:
    role: str
    index: int
    old: list[str]
    new: list[str] = field(default_factory=list)
    status: str = "not run"  # replaced, failed, not run
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "batch": self.index, "old": self.old, "new": self.new,
                "status": self.status, "problem": self.problem}


@dataclass
class RollResult:
    role: str
    image_id: str
    batches: list[RollBatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(b.status == "replaced" for b in self.batches)

    @property
    def failed_step(self) -> str | None:
        return next((f"{self.role} roll batch {b.index}/{len(self.batches)}"
                     for b in self.batches if b.status == "failed"), None)

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "image_id": self.image_id, "ok": self.ok,
                "batches": [b.to_json() for b in self.batches]}


def batches_of(ids: list[str], share: float = BATCH_SHARE) -> list[list[str]]:
    """Pure: the old members in batches of `share` of them (at least one)."""
    size = max(1, math.ceil(len(ids) * share))
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def roll_group(group: Group, image_id: str, *, clock: Clock,
               progress: Callable[[str, str], None] = lambda step, message: None,
               timeout: float = HEALTH_TIMEOUT) -> RollResult:
    """Replace every member not on `image_id`; stops at the first batch that fails."""
    result = RollResult(group.role, image_id)
    old = sorted(m["id"] for m in group.members() if m.get("image_id") != image_id)
    result.batches = [RollBatch(group.role, i, ids)
                      for i, ids in enumerate(batches_of(old), start=1)]
    if not old:
        return result
    _, max_size, _ = group.sizes()
    behind_lb = group.uses_load_balancer()
    try:
        for batch in result.batches:
            step = f"{group.role} roll batch {batch.index}/{len(result.batches)}"
            _replace(group, batch, image_id, behind_lb, clock, timeout,
                     functools.partial(progress, step))
            if batch.status == "failed":
                break
    finally:
        _, _, desired = group.sizes()  # the maximum goes back to what it was
        group.set_capacity(desired, max(max_size, desired))
    return result


def _replace(group: Group, batch: RollBatch, image_id: str, behind_lb: bool, clock: Clock,
             timeout: float, say: Callable[[str], None]) -> None:
    before = {m["id"] for m in group.members()}
    _, max_size, desired = group.sizes()
    grown = desired + len(batch.old)
    say(f"starting {len(batch.old)} instance(s) on {image_id}")
    group.set_capacity(grown, max(max_size, grown))

    def fresh() -> list[dict[str, Any]]:
        return [m for m in group.members() if m["id"] not in before
                and m.get("image_id") == image_id]

    def ready(members: list[dict[str, Any]]) -> bool:
        healthy = [m for m in members if m.get("health") == "Healthy"]
        if len(healthy) < len(batch.old):
            return False
        if not behind_lb:
            return True
        lb = group.target_health()
        return sum(1 for m in healthy if lb.get(m["id"]) == "healthy") >= len(batch.old)

    try:
        found = wait_for(fresh, ready, clock=clock, timeout=timeout,
                         what=f"{len(batch.old)} new {group.role} instance(s) to be healthy",
                         initial=5.0, cap=30.0)
    except OperationFailed as e:
        batch.status, batch.problem = "failed", str(e)
        batch.new = sorted(m["id"] for m in fresh())
        say(f"failed: {e}; the old instances keep serving")
        for iid in batch.new:  # the group returns to its size before the batch
            group.terminate(iid)
        return
    batch.new = sorted(m["id"] for m in found)[:len(batch.old)]
    say(f"{', '.join(batch.new)} healthy; taking out {', '.join(batch.old)}")
    for iid in batch.old:
        group.terminate(iid)
    wait_for(group.members, lambda ms: not ({m["id"] for m in ms} & set(batch.old)),
             clock=clock, timeout=timeout, what=f"{', '.join(batch.old)} to leave the group")
    batch.status = "replaced"


def _targets(session: Session) -> dict[str, str]:
    """Role → the image its launch template's default version names."""
    from argos_cloud.kinds import launch_template

    return {t.role: str(t.attrs["image_id"])
            for t in launch_template.read(session.clients, session.scope)
            if t.role in ROLES and t.attrs.get("image_id")}


def pending(session: Session) -> dict[str, int]:
    """Role → how many in-service members run another image than their template's."""
    from argos_cloud.kinds.auto_scaling_group import GroupOps

    out = {}
    for role, image in _targets(session).items():
        old = [m for m in GroupOps(session.clients, session.scope, role).members()
               if m.get("image_id") != image]
        if old:
            out[role] = len(old)
    return out


def roll_images(session: Session, *, under: Operation) -> list[RollResult]:
    """Roll every group with members on an older image; journaled as `roll`.

    Runs under the lock the caller's operation holds. Raises RollFailed at the first bad
    batch (the other group is not started then).
    """
    from argos_cloud.kinds.auto_scaling_group import GroupOps

    todo = pending(session)
    if not todo:
        return []
    targets = _targets(session)
    results: list[RollResult] = []
    with operation(session, "roll", under=under) as op:
        op.begin()
        for role in ROLES:
            if role not in todo:
                continue
            result = roll_group(GroupOps(session.clients, session.scope, role),
                                targets[role], clock=session.clock,
                                progress=session.on_event)
            results.append(result)
            if not result.ok:
                raise RollFailed(results, f"image roll of {role} stopped at "
                                 f"{result.failed_step}: the old instances keep serving; "
                                 "run commission again to retry")
        replaced = sum(len(b.old) for r in results for b in r.batches)
        op.finish("succeeded", detail=f"{replaced} instance(s) rolled onto new images")
    return results


class RollFailed(OperationFailed):
    """A batch did not turn healthy; carries what was done."""

    def __init__(self, results: list[RollResult], message: str) -> None:
        super().__init__(message)
        self.results = results

    @property
    def failed_step(self) -> str | None:
        """The batch that stopped the roll, for the journal."""
        return next((r.failed_step for r in self.results if r.failed_step), None)
