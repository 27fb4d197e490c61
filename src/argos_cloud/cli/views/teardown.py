"""`decommission` and `clean`: what will go and stay, then what went, failed and remains."""

from __future__ import annotations

from typing import TYPE_CHECKING

from argos_cloud.cli.views.base import View

if TYPE_CHECKING:
    from argos_cloud.provision.bake import BakeLeftovers
    from argos_cloud.workflows.clean import CleanPlan, CleanResult
    from argos_cloud.workflows.decommission import TeardownPlan, TeardownResult


# -- decommission
def nothing_to_delete(project: str, environment: str) -> str:
    return f"nothing to delete: no resource carries the tags of {project}/{environment}"


def decommission_plan_lines(plan: TeardownPlan) -> list[str]:
    if plan.empty:
        out = [nothing_to_delete(plan.project, plan.environment)]
    else:
        out = [f"decommission {plan.project}/{plan.environment} will delete "
               f"{len(plan.deletes)} resource(s):"]
        out += [f"  - {a.kind.replace('_', ' ')} {a.name or a.id} ({a.id})"
                for _, a in sorted(plan.steps.items())]
    if plan.keeps:
        out.append("will keep:")
        out += [f"  = {k}" for k in plan.keeps]
    return out + list(plan.notes)


def decommission_result_lines(result: TeardownResult) -> list[str]:
    where = f"{result.project}/{result.environment}"
    nothing_done = not (result.deleted or result.failed or result.interrupted or result.not_done
                        or result.remaining or result.pruned or result.snapshots)
    out = [nothing_to_delete(result.project, result.environment)] if nothing_done else []
    out += [f"deleted {d}" for d in result.deleted]
    out += [f"kept {k}" for k in result.kept]
    out += [f"deleted final snapshot {s} (beyond keep_final_snapshots)" for s in result.pruned]
    out += [f"failed {step}: {error}" for step, error in sorted(result.failed.items())]
    out += [f"not done {step}" for step in result.not_done]
    if result.interrupted:
        out.append(f"interrupted: run decommission {result.environment} again to finish")
    if result.remaining:
        out.append(f"a fresh discovery still finds {len(result.remaining)} resource(s) "
                   f"tagged for {where}:")
        out += [f"  ! {a.address} {a.id}" for a in result.remaining]
    elif not (result.failed or result.interrupted or result.not_done):
        out.append(f"a fresh discovery finds nothing tagged for {where}"
                   + (" (what was kept is listed above)" if result.kept else ""))
    return out + result.notes


def show_decommission_plan(view: View, plan: TeardownPlan) -> None:
    view.notes(plan.notes)
    view.lines(decommission_plan_lines(plan))
    if plan.empty:
        view.document({"environment": plan.environment, "ok": True, "deleted": [],
                       "plan": plan.to_json()})


def show_decommission_result(view: View, result: TeardownResult) -> None:
    view.notes(result.notes)
    view.lines(decommission_result_lines(result))
    view.document(result.to_json())


# -- clean
def leftover_lines(left: BakeLeftovers) -> list[str]:
    out = [f"bake instance {i}" for i in left.instances]
    out += [f"bake security group {g}" for g in left.security_groups]
    for image in left.images:
        snaps = f" with snapshot(s) {', '.join(image.snapshots)}" if image.snapshots else ""
        out.append(f"image {image.name} ({image.image_id}, {image.state}){snaps}")
    return out


def nothing_to_clean(project: str) -> str:
    return f"nothing to clean: {project} has no image, bake instance or bake security group"


def clean_plan_lines(plan: CleanPlan) -> list[str]:
    if plan.empty:
        return [nothing_to_clean(plan.project), *plan.notes]
    out = [f"clean {plan.project} will remove:"]
    out += [f"  - {line}" for line in leftover_lines(plan.leftovers)]
    out += [f"  ! {image} is still used by the launch templates of {', '.join(envs)} "
            "(--force)" for image, envs in plan.in_use.items()]
    return out + list(plan.notes)


def clean_result_lines(result: CleanResult) -> list[str]:
    out = list(result.removed)
    if not result.remaining.empty:
        out.append("still there:")
        out += [f"  ! {line}" for line in leftover_lines(result.remaining)]
    elif result.removed:
        out.append(f"nothing of {result.project}'s image bake remains")
    else:
        out.append(nothing_to_clean(result.project))
    return out + result.notes


def show_clean_plan(view: View, plan: CleanPlan) -> None:
    view.notes(plan.notes)
    view.lines(clean_plan_lines(plan))
    if plan.empty:
        view.document({"project": plan.project, "ok": True, "removed": [],
                       "plan": plan.to_json()})


def show_clean_result(view: View, result: CleanResult) -> None:
    view.notes(result.notes)
    view.lines(clean_result_lines(result))
    view.document(result.to_json())
