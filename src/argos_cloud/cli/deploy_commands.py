"""`deploy`, `rollback` and `history` at the command line: confirm, call, render.

Thin on purpose: the workflow decides; this asks (protected environments),
and the views turn its result into lines or one JSON document.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from argos_cloud.cli.args import Arguments
from argos_cloud.cli.confirm import confirm
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.lock_commands import apply_lock_options
from argos_cloud.cli.options import DeployOptions, HistoryOptions, RollbackOptions, expect
from argos_cloud.cli.views import ProgressHook, View
from argos_cloud.cli.views.deploy import show_deploy, show_history
from argos_cloud.errors import ExitStatus

if TYPE_CHECKING:
    from argos_cloud.workflows.deploy import DeployResult
    from argos_cloud.workflows.session import Session


def _confirm_protected(args: Arguments, env: Environment, session: Session, what: str) -> None:
    if session.spec.protected:
        confirm(env, f"{what} {session.spec.project}/{session.spec.name} (protected)?",
                yes=args.yes)


def _render(view: View, run: Callable[[], DeployResult]) -> ExitStatus:
    """One result, both ways: a deploy that raised DeployFailed is rendered the same way."""
    from argos_cloud.workflows.deploy import DeployFailed

    try:
        result = run()
    except DeployFailed as e:
        show_deploy(view, e.result, error=str(e))
        raise
    show_deploy(view, result)
    return ExitStatus.OK if result.ok else ExitStatus.FAILED


def deploy(args: Arguments, env: Environment, view: View, session: Session,
           hook: ProgressHook) -> ExitStatus:
    from argos_cloud.workflows.deploy import deploy as run_deploy

    options = expect(args.options, DeployOptions)
    apply_lock_options(args, env, view, session)
    _confirm_protected(args, env, session, f"Deploy {options.ref or session.spec.source.ref} to")
    return _render(view, lambda: run_deploy(
        session, ref=options.ref, roles=list(options.roles), batch=options.batch, hook=hook))


def rollback(args: Arguments, env: Environment, view: View, session: Session,
             hook: ProgressHook) -> ExitStatus:
    from argos_cloud.workflows.deploy import rollback as run_rollback

    options = expect(args.options, RollbackOptions)
    apply_lock_options(args, env, view, session)
    _confirm_protected(args, env, session, "Roll back")
    return _render(view, lambda: run_rollback(
        session, roles=list(options.roles), batch=options.batch, hook=hook))


def history(args: Arguments, env: Environment, view: View, session: Session,
            hook: ProgressHook) -> ExitStatus:
    from argos_cloud.workflows.deploy import history as read_history

    options = expect(args.options, HistoryOptions)
    entries = read_history(session, limit=options.limit)  # --offline never connects
    show_history(view, session.spec.project, session.spec.name, entries, offline=False)
    return ExitStatus.OK


def history_offline(args: Arguments, env: Environment, view: View, config: Path) -> ExitStatus:
    """`history --offline`: the local copy, without connecting (or starting the sandbox)."""
    from argos_cloud.config import load_environment
    from argos_cloud.engine.journal import Journal
    from argos_cloud.model.names import Scope
    from argos_cloud.workflows.session import state_dir_for

    options = expect(args.options, HistoryOptions)
    assert args.environment is not None
    spec = load_environment(config, args.environment, profile=args.profile,
                            environ=env.environ)
    journal = Journal(None, Scope(spec.project, spec.name),  # type: ignore[arg-type]
                      local_dir=state_dir_for(config))  # the local copy needs no store
    show_history(view, spec.project, spec.name, journal.entries_offline(options.limit),
                 offline=True)
    return ExitStatus.OK
