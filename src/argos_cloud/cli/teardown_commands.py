"""`decommission` and `clean` at the edge: show what goes, ask, run, report what went and stayed."""

from __future__ import annotations

from typing import Any

from argos_cloud.cli.args import Arguments
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.program import confirm
from argos_cloud.cli.views import View, progress_for
from argos_cloud.errors import ExitStatus, Interrupted, OperationFailed


def decommission(args: Arguments, env: Environment, view: View, session: Any,
                 hook: Any) -> ExitStatus:
    from argos_cloud.workflows.decommission import decommission as run
    from argos_cloud.workflows.decommission import plan_decommission

    plan = plan_decommission(session, delete_image=bool(args.options.get("delete_image")),
                             skip_final_snapshot=bool(args.options.get("skip_final_snapshot")))
    view.notes(plan.notes)
    view.lines(plan.lines())
    if plan.empty:
        view.document({"environment": session.spec.name, "ok": True, "deleted": [],
                       "plan": plan.to_json()})
        return ExitStatus.OK
    name = session.spec.name
    confirm(args, env, view, f"Delete everything listed above from {session.spec.project}/"
            f"{name}?", type_name=name if session.spec.protected else None)
    live = progress_for(view, list(plan.graph.topological_order()))
    session.on_event = live.progress
    with live:
        result = run(session, plan, hook=live)
    view.notes(result.notes)
    view.lines(result.lines())
    view.document(result.to_json())
    if result.interrupted:
        raise Interrupted("decommission interrupted: run it again to finish")
    if result.failed:
        failures = "; ".join(f"{k}: {v}" for k, v in sorted(result.failed.items()))
        raise OperationFailed(f"decommission did not finish: {failures}")
    if not result.ok:
        raise OperationFailed("decommission left resources behind (listed above); run it again")
    return ExitStatus.OK


def clean(args: Arguments, env: Environment, view: View, session: Any,
          hook: Any) -> ExitStatus:
    from argos_cloud.workflows.clean import clean as run
    from argos_cloud.workflows.clean import plan_clean

    plan = plan_clean(session, force=bool(args.options.get("force")))
    view.notes(plan.notes)
    view.lines(plan.lines())
    if plan.empty:
        view.document({"project": session.spec.project, "ok": True, "removed": [],
                       "plan": plan.to_json()})
        return ExitStatus.OK
    confirm(args, env, view, f"Delete the image bake of project {session.spec.project} "
            "listed above?")
    result = run(session, plan, hook=hook)
    view.notes(result.notes)
    view.lines(result.lines())
    view.document(result.to_json())
    if not result.ok:
        raise OperationFailed("clean left something behind (listed above); run it again")
    return ExitStatus.OK
