"""`scale`, `exec` and `logs` at the command line: living with a running environment."""

from __future__ import annotations

from typing import TYPE_CHECKING

from argos_cloud.cli.args import Arguments
from argos_cloud.cli.confirm import confirm
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.lock_commands import apply_lock_options
from argos_cloud.cli.options import ExecOptions, LogsOptions, ScaleOptions, expect
from argos_cloud.cli.views import ProgressHook, View
from argos_cloud.cli.views.exec import show_exec
from argos_cloud.cli.views.logs import log_writer, show_logs_end
from argos_cloud.cli.views.scale import show_scaled
from argos_cloud.errors import ExitStatus

if TYPE_CHECKING:
    from argos_cloud.workflows.session import Session


def scale(args: Arguments, env: Environment, view: View, session: Session,
          hook: ProgressHook) -> ExitStatus:
    from argos_cloud.workflows.scale import parse_targets
    from argos_cloud.workflows.scale import scale as run_scale

    options = expect(args.options, ScaleOptions)
    targets = parse_targets(list(options.groups))  # bad input before the lock
    apply_lock_options(args, env, view, session)
    if session.spec.protected:
        confirm(env, f"Scale {session.spec.project}/{session.spec.name} (protected) to "
                f"{' '.join(options.groups)}?", yes=args.yes)
    result = run_scale(session, targets, min_size=options.min_size,
                       max_size=options.max_size)
    show_scaled(view, result, session.notes)
    return ExitStatus.OK


def exec_command(args: Arguments, env: Environment, view: View, session: Session,
                 hook: ProgressHook) -> ExitStatus:
    """Exit 0 only when the command succeeded on every chosen instance."""
    from argos_cloud.workflows.exec import run_exec

    options = expect(args.options, ExecOptions)
    result = run_exec(session, list(options.command), role=options.role,
                      instance_id=options.instance, every=options.all,
                      timeout=float(options.timeout))
    show_exec(view, result, session.notes)
    return ExitStatus.OK if result.ok else ExitStatus.FAILED


def logs(args: Arguments, env: Environment, view: View, session: Session,
         hook: ProgressHook) -> ExitStatus:
    """Ctrl-C ends a follow cleanly: exit 0, nothing after the last line."""
    from argos_cloud.workflows.logs import logs as read_logs

    options = expect(args.options, LogsOptions)
    if view.json:  # JSON Lines on stdout: notes and progress go to stderr
        session.on_event = lambda step, message: None
    try:
        result = read_logs(session, log_writer(view), role=options.role,
                           instance_id=options.instance, units=options.unit,
                           since=options.since, lines=options.lines, follow=options.follow)
    except KeyboardInterrupt:
        if not options.follow:
            raise
        return ExitStatus.OK
    show_logs_end(view, result, session.notes)
    return ExitStatus.FAILED if result.problems and not result.lines else ExitStatus.OK
