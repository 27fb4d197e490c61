"""Clean: remove the project's image bake — its instance, its group, the images, their snapshots.

Bake resources carry the project's tags and role `image`, so they are found
without the process that made them: a bake killed with SIGKILL cannot clean up
after itself. An image still named by an environment's launch template is
refused (exit 3, naming the environments) unless forced: those groups could
launch nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from argos_cloud.engine.events import Hook, StepFailed, StepStarted, StepSucceeded
from argos_cloud.errors import Refused
from argos_cloud.provision.bake import BakeLeftovers, find_bake_leftovers, remove_bake_leftovers
from argos_cloud.workflows.decommission import images_in_use
from argos_cloud.workflows.operation import operation
from argos_cloud.workflows.session import Session

STEP = "clean.bake"


def _leftovers_json(left: BakeLeftovers) -> dict[str, Any]:
    return {"instances": list(left.instances), "security_groups": list(left.security_groups),
            "images": [{"id": i.image_id, "name": i.name, "state": i.state,
                        "snapshots": list(i.snapshots)} for i in left.images]}


@dataclass(frozen=True)
class CleanPlan:
    """What clean will remove; `in_use` lists images environments still use (forced)."""

    project: str
    leftovers: BakeLeftovers
    in_use: dict[str, list[str]] = field(default_factory=dict)
    force: bool = False
    notes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.leftovers.empty

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "remove": _leftovers_json(self.leftovers),
                "in_use": self.in_use, "force": self.force, "notes": list(self.notes)}


@dataclass(frozen=True)
class CleanResult:
    """What was removed, and what a second look still finds (should be nothing)."""

    project: str
    removed: list[str]
    remaining: BakeLeftovers
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.remaining.empty

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "ok": self.ok, "removed": self.removed,
                "remaining": _leftovers_json(self.remaining), "notes": self.notes}


def plan_clean(session: Session, *, force: bool = False) -> CleanPlan:
    """Find the bake's leftovers (read calls only); refuse while an image is in use."""
    project = session.spec.project
    left = find_bake_leftovers(session.clients, session.project_scope)
    used = images_in_use(session.clients, project, [i.image_id for i in left.images])
    if used and not force:
        envs = sorted({e for names in used.values() for e in names})
        which = "; ".join(f"{image} by {', '.join(names)}" for image, names in used.items())
        raise Refused(f"the image is still used by the launch templates of "
                      f"{', '.join(envs)} ({which}); decommission them first, or --force")
    notes = list(session.notes)
    if used:
        notes.append("forced: the groups of those environments cannot launch instances "
                     "once the image is gone")
    return CleanPlan(project=project, leftovers=left, in_use=used, force=force,
                     notes=tuple(notes))


def clean(session: Session, plan: CleanPlan, *, hook: Hook | None = None) -> CleanResult:
    """Instances first, then groups, then images and their snapshots; then look again."""
    if plan.empty:
        return CleanResult(plan.project, [], plan.leftovers, list(plan.notes))
    # Under this environment's lock (its commission's bake is not cut short), recorded and
    # announced in the project's shared history: the bake is the project's.
    with operation(session, "clean", scope=session.project_scope) as op:
        op.begin()
        hook = op.hook(hook)  # names the step of a failure
        hook.on_event(StepStarted(STEP))
        try:
            removed = remove_bake_leftovers(session.clients, session.clock, plan.leftovers,
                                            images=True)
        except Exception as e:
            hook.on_event(StepFailed(STEP, str(e).splitlines()[0] if str(e) else repr(e)))
            raise
        hook.on_event(StepSucceeded(STEP, f"{len(removed)} removed"))
        remaining = find_bake_leftovers(session.clients, session.project_scope)
        if not remaining.empty:
            op.finish("failed", failed_step=STEP)
    return CleanResult(plan.project, removed, remaining, list(plan.notes))
