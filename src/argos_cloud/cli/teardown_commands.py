"""`decommission` and `clean` at the edge: show what goes, ask, run, report what went and stayed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from argos_cloud.cli.args import Arguments
from argos_cloud.cli.confirm import confirm
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.lock_commands import apply_lock_options
from argos_cloud.cli.options import CleanOptions, DecommissionOptions, expect
from argos_cloud.cli.views import ProgressHook, View, progress_for
from argos_cloud.cli.views.teardown import (
    show_clean_plan,
    show_clean_result,
    show_decommission_plan,
    show_decommission_result,
)
from argos_cloud.errors import ExitStatus, Interrupted, OperationFailed

if TYPE_CHECKING:
    from argos_cloud.workflows.session import Session


def decommission(args: Arguments, env: Environment, view: View, session: Session,
                 hook: ProgressHook) -> ExitStatus:
    from argos_cloud.workflows.decommission import decommission as run
    from argos_cloud.workflows.decommission import plan_decommission

    options = expect(args.options, DecommissionOptions)
    apply_lock_options(args, env, view, session)
    plan = plan_decommission(session, delete_image=options.delete_image,
                             skip_final_snapshot=options.skip_final_snapshot)
    show_decommission_plan(view, plan)
    if plan.empty:
        return ExitStatus.OK
    name = session.spec.name
    confirm(env, f"Delete everything listed above from {session.spec.project}/{name}?",
            yes=args.yes, type_name=name if session.spec.protected else None)
    live = progress_for(view, list(plan.graph.topological_order()))
    session.on_event = live.progress
    with live:
        result = run(session, plan, hook=live)
    show_decommission_result(view, result)
    if result.interrupted:
        raise Interrupted("decommission interrupted: run it again to finish")
    if result.failed:
        failures = "; ".join(f"{k}: {v}" for k, v in sorted(result.failed.items()))
        raise OperationFailed(f"decommission did not finish: {failures}")
    if not result.ok:
        raise OperationFailed("decommission left resources behind (listed above); run it again")
    return ExitStatus.OK


def clean(args: Arguments, env: Environment, view: View, session: Session,
          hook: ProgressHook) -> ExitStatus:
    from argos_cloud.workflows.clean import clean as run
    from argos_cloud.workflows.clean import plan_clean

    options = expect(args.options, CleanOptions)
    apply_lock_options(args, env, view, session)
    plan = plan_clean(session, force=options.force)
    show_clean_plan(view, plan)
    if plan.empty:
        return ExitStatus.OK
    confirm(env, f"Delete the image bake of project {session.spec.project} listed above?",
            yes=args.yes)
    result = run(session, plan, hook=hook)
    show_clean_result(view, result)
    if not result.ok:
        raise OperationFailed("clean left something behind (listed above); run it again")
    return ExitStatus.OK
