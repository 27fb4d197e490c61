"""`deploy`, `rollback` and `history` at the command line: confirm, call, render.

Thin on purpose: the workflow decides; this asks (protected environments),
and turns its result into lines or one JSON document.
"""

from __future__ import annotations

from typing import Any

from argos_cloud.cli.args import Arguments
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.views import ProgressHook, View
from argos_cloud.errors import ExitStatus


def _roles(args: Arguments) -> list[str]:
    roles = args.options.get("roles")
    return [str(r) for r in roles] if isinstance(roles, list | tuple) and roles else [
        "app", "worker"]


def _confirm_protected(args: Arguments, env: Environment, view: View, session: Any,
                       what: str) -> None:
    if session.spec.protected:
        from argos_cloud.cli.program import confirm

        confirm(args, env, view, f"{what} {session.spec.project}/{session.spec.name} "
                "(protected)?")


def _render(view: View, run: Any) -> ExitStatus:
    """One result, both ways: a deploy that raised DeployFailed is rendered the same way."""
    from argos_cloud.workflows.deploy import DeployFailed

    try:
        result = run()
    except DeployFailed as e:
        view.lines(e.result.lines())
        view.notes(e.result.notes)
        view.document({**e.result.to_json(), "error": str(e)})
        raise
    view.lines(result.lines())
    view.notes(result.notes)
    view.document(result.to_json())
    return ExitStatus.OK if result.ok else ExitStatus.FAILED


def deploy(args: Arguments, env: Environment, view: View, session: Any,
           hook: ProgressHook) -> ExitStatus:
    from argos_cloud.workflows.deploy import deploy as run_deploy

    ref = args.options.get("ref")
    _confirm_protected(args, env, view, session,
                       f"Deploy {ref or session.spec.source.ref} to")
    return _render(view, lambda: run_deploy(
        session, ref=str(ref) if ref else None, roles=_roles(args),
        batch=str(args.options.get("batch") or "50%"), hook=hook))


def rollback(args: Arguments, env: Environment, view: View, session: Any,
             hook: ProgressHook) -> ExitStatus:
    from argos_cloud.workflows.deploy import rollback as run_rollback

    _confirm_protected(args, env, view, session, "Roll back")
    return _render(view, lambda: run_rollback(
        session, roles=_roles(args), batch=str(args.options.get("batch") or "50%"), hook=hook))


def history_json(environment: str, entries: list[Any]) -> dict[str, Any]:
    return {"environment": environment,
            "entries": [{"command": e.command, "commit": e.commit, "who": e.who, "at": e.at,
                         "finished": e.finished, "result": e.result,
                         "failed_step": e.failed_step, "detail": e.detail} for e in entries]}


def history(args: Arguments, env: Environment, view: View, session: Any,
            hook: ProgressHook) -> ExitStatus:
    from argos_cloud.workflows.deploy import history as read_history

    limit = int(str(args.options.get("limit") or 20))
    offline = bool(args.options.get("offline"))
    entries = read_history(session, limit=limit, offline=offline)
    view.document(history_json(session.spec.name, entries))
    source = " (local copy)" if offline else ""
    if not entries:
        view.line(f"{session.spec.project}/{session.spec.name}: no operations recorded"
                  f"{source}.")
        return ExitStatus.OK
    rows: list[tuple[str, ...]] = [(e.at, e.command, (e.commit or "")[:12], e.who, e.result,
             e.failed_step or "") for e in entries]
    view.table(("started", "command", "commit", "who", "result", "failed step"), rows,
               title=f"{session.spec.project}/{session.spec.name} history{source}")
    return ExitStatus.OK
