"""`plan` and `commission` at the command line: show the plan, ask, execute that same plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from argos_cloud.cli.args import Arguments
from argos_cloud.cli.confirm import confirm
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.lock_commands import apply_lock_options
from argos_cloud.cli.options import CommissionOptions, PlanOptions, SeedFlags, expect
from argos_cloud.cli.views import ProgressHook, View, progress_for
from argos_cloud.cli.views.commission import (
    show_commission_failed,
    show_commissioned,
    show_nothing_to_commission,
    show_planned,
)
from argos_cloud.errors import ExitStatus

if TYPE_CHECKING:
    from argos_cloud.config.overrides import RunOverrides
    from argos_cloud.workflows.session import Session


def run_overrides(options: SeedFlags) -> RunOverrides:
    """The seed's flags as this run's overrides of the config."""
    from argos_cloud.config.overrides import RunOverrides

    return RunOverrides(instance_type=options.instance_type, min_size=options.min_size,
                        max_size=options.max_size, ssh=options.ssh)


def plan(args: Arguments, env: Environment, view: View, session: Session,
         hook: ProgressHook) -> ExitStatus:
    from argos_cloud.workflows.commission import prepare

    options = expect(args.options, PlanOptions)
    prepared = prepare(session, restore_snapshot=options.restore_snapshot,
                       overrides=run_overrides(options))
    show_planned(view, prepared.plan, session.notes)
    if options.detailed_exitcode and not prepared.plan.empty:
        return ExitStatus.CHANGES
    return ExitStatus.OK


def commission(args: Arguments, env: Environment, view: View, session: Session,
               hook: ProgressHook) -> ExitStatus:
    from argos_cloud.workflows.commission import (
        CommissionFailed,
        execute,
        prepare,
        resume_rolls,
    )

    options = expect(args.options, CommissionOptions)
    prepared = prepare(session, restore_snapshot=options.restore_snapshot,  # reads before writes
                       overrides=run_overrides(options))
    apply_lock_options(args, env, view, session)
    view.notes(session.notes)
    view.show_plan(prepared.plan)
    spec = session.spec
    if prepared.plan.empty:
        show_nothing_to_commission(view, spec.name, prepared.plan, session.notes,
                                   resume_rolls(session))
        return ExitStatus.OK
    protected = " (protected)" if spec.protected else ""
    confirm(env, f"Commission {spec.project}/{spec.name}{protected} as planned?", yes=args.yes)
    view.line("Commissioning:")
    live = progress_for(view, [c.address for c in prepared.plan.pending])
    session.on_event = live.progress
    try:
        with live:
            result = execute(session, prepared, hook=live, parallel=options.parallel)
    except CommissionFailed as e:
        show_commission_failed(view, e.result, str(e))
        raise
    show_commissioned(view, spec.project, spec.name, result, prepared.plan.notes)
    return ExitStatus.OK
