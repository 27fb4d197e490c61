"""The work of each command: open the environment, call the workflow, render its result.

Catches nothing: main() maps errors to exit statuses.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from argos_cloud.cli.args import Arguments
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.views import ProgressHook, View, progress_for
from argos_cloud.errors import BadInput, ExitStatus, NotBuilt, Refused


def program(args: Arguments, env: Environment) -> ExitStatus:
    view = View(env, args.output, args.verbose)
    config = args.config if args.config.is_absolute() else env.cwd / args.config
    if args.command == "version":
        from argos_cloud import __version__

        view.document({"version": __version__})
        if not view.json:
            view.line(f"argos-cloud {__version__}")
        return ExitStatus.OK
    if args.command == "sandbox":
        return _sandbox(args, view, config)
    if args.command == "init":
        from argos_cloud.workflows.init import init

        made = init(env.cwd)
        view.document({"created": [str(p) for p in made.created],
                       "kept": [str(p) for p in made.kept]})
        view.lines(made.lines())
        return ExitStatus.OK
    if args.command == "validate":
        return _validate(args, view, config)
    handler = _ENV_COMMANDS[args.command]
    status: ExitStatus = handler(args, env, view, config)
    return status


def _session(args: Arguments, env: Environment, view: View, config: Path) -> Any:
    from argos_cloud.sandbox.server import log_to
    from argos_cloud.workflows.session import open_session

    assert args.environment is not None
    from argos_cloud.config import load_environment

    spec = load_environment(config, args.environment, profile=args.profile,
                            environ=env.environ)
    args.endpoint = spec.endpoint_url or env.environ.get("AWS_ENDPOINT_URL") or None
    args.region = spec.region
    session = open_session(config, args.environment, profile=args.profile,
                           environ=env.environ, sandbox_log=log_to(env.stderr))
    args.endpoint = session.clients.endpoint_url or args.endpoint
    hook = ProgressHook(view)
    session.on_event = hook.progress
    return session, hook


def confirm(args: Arguments, env: Environment, view: View, question: str,
            *, type_name: str | None = None) -> None:
    """Ask unless --yes; a protected environment's name must be typed. No → Refused."""
    if args.yes:
        return
    no_answer = Refused(f"{question.rstrip('?')}: no answer on standard input; "
                        "pass --yes to run without asking")
    if type_name is not None:
        answer = env.ask(f"{question}\nType the environment's name ({type_name}) to confirm: ")
        if answer is None:
            raise no_answer
        if answer != type_name:
            raise Refused("confirmation declined: the name typed did not match")
        return
    answer = env.ask(f"{question} [y/N] ")
    if answer is None:
        raise no_answer
    if answer.lower() not in ("y", "yes"):
        raise Refused("confirmation declined")


def _lock_options(args: Arguments, env: Environment, view: View, session: Any) -> None:
    """--lock-wait for the run's lock, then --break-lock under its rule.

    A stale holder needs no flag (the run takes it over). A live one (its
    process runs here, or its lease has not run out) is broken only after a
    confirmation naming it; under --yes only with --force as well.
    """
    session.lock_wait = float(str(args.options.get("lock_wait") or 0))
    if args.options.get("break_lock"):
        _break(args, env, view, session)


def _break(args: Arguments, env: Environment, view: View, session: Any) -> bool:
    lock = session.lock("break-lock")
    holder = lock.holder()
    if holder is None:
        return False
    if lock.holder_alive() is not None:
        if args.yes and not args.options.get("force"):
            raise Refused(f"the lock of {session.spec.name} is held by {holder.describe()}, "
                          f"which is still alive (lease until {holder.expires}): not broken "
                          "under --yes without --force")
        confirm(args, env, view, f"The lock is held by {holder.describe()}, which is still "
                "alive. Break it?")
    old = lock.break_lock()
    if old is not None:
        view.line(f"broke the lock held by {old.describe()}")
    return old is not None


def _restore(args: Arguments) -> str | None:
    value = args.options.get("restore_snapshot")
    return str(value) if value else None


def _plan(args: Arguments, env: Environment, view: View, config: Path) -> ExitStatus:
    from argos_cloud.workflows.commission import prepare

    session, _ = _session(args, env, view, config)
    prepared = prepare(session, restore_snapshot=_restore(args))
    view.notes(session.notes)
    view.show_plan(prepared.plan)
    view.document(prepared.plan.to_json())
    if args.options.get("detailed_exitcode") and not prepared.plan.empty:
        return ExitStatus.CHANGES
    return ExitStatus.OK


def _commission(args: Arguments, env: Environment, view: View, config: Path) -> ExitStatus:
    from argos_cloud.workflows.commission import (
        CommissionFailed,
        execute,
        prepare,
        resume_rolls,
    )

    session, _ = _session(args, env, view, config)
    prepared = prepare(session, restore_snapshot=_restore(args))  # reads before writes
    _lock_options(args, env, view, session)
    view.notes(session.notes)
    view.show_plan(prepared.plan)
    if prepared.plan.empty:
        rolls = resume_rolls(session)
        for roll in rolls:
            view.lines(roll.lines())
        view.document({"environment": session.spec.name, "ok": True, "changed": bool(rolls),
                       "plan": prepared.plan.to_json(), "notes": session.notes,
                       "image_rolls": [r.to_json() for r in rolls]})
        return ExitStatus.OK
    protected = " (protected)" if session.spec.protected else ""
    confirm(args, env, view, f"Commission {session.spec.project}/{session.spec.name}"
            f"{protected} as planned?")
    view.line("Commissioning:")
    live = progress_for(view, [c.address for c in prepared.plan.pending])
    session.on_event = live.progress
    try:
        with live:
            result = execute(session, prepared, hook=live,
                             parallel=int(str(args.options.get("parallel") or 4)))
    except CommissionFailed as e:
        for roll in e.result.rolls:
            view.lines(roll.lines())
        view.document({**e.result.to_json(), "error": str(e)})
        raise
    for roll in result.rolls:
        view.lines(roll.lines())
    view.notes([n for n in result.notes if n not in prepared.plan.notes])
    view.line(f"Commissioned {session.spec.project}/{session.spec.name}: "
              f"{len(result.walk.succeeded) if result.walk else 0} step(s) done.", style="bold")
    view.document({**result.to_json(), "changed": True})
    return ExitStatus.OK


def _status(args: Arguments, env: Environment, view: View, config: Path) -> ExitStatus:
    from argos_cloud.workflows.status import instance_rows, status, text_rows

    session, _ = _session(args, env, view, config)
    report = status(session)
    view.document(report.to_json())
    view.notes(report.notes)
    if report.empty:
        view.line(f"{report.project}/{report.environment}: nothing exists for this "
                  "environment.")
        return ExitStatus.OK
    view.table(("role", "kind", "name", "id", "state"), text_rows(report),
               title=f"{report.project}/{report.environment}")
    if report.instances:
        view.table(("role", "instance", "state", "address", "image", "health", "commit",
                    "flags"), instance_rows(report), title="instances")
    view.line(f"url: {report.url or '(no load balancer)'}")
    view.line(f"deployed commit: {report.deployed_ref or '(none yet)'}")
    for roll in report.rolls:
        if not roll.done:
            view.line(f"image rollout {roll.role}: {roll.on_current}/{roll.total} instance(s) "
                      f"on {roll.image_id}")
    if report.flagged:
        view.line(f"flagged: {len(report.flagged)} instance(s) on another commit or an older "
                  "image (see flags)", style="yellow")
    if report.lock:
        view.line(f"locked by {report.lock['who']} ({report.lock['operation']}) since "
                  f"{report.lock['since']}")
    if report.last_operation:
        op = report.last_operation
        view.line(f"last operation: {op['command']} by {op['who']} at {op['at']}: "
                  f"{op['result']}" + (f" (failed at {op['failed_step']})"
                                       if op.get("failed_step") else ""))
    extra = f" (not priced: {', '.join(report.unpriced)})" if report.unpriced else ""
    view.line(f"estimated cost: ${report.hourly_usd:.3f}/hour on-demand{extra}")
    return ExitStatus.OK


def _unlock(args: Arguments, env: Environment, view: View, config: Path) -> ExitStatus:
    session, _ = _session(args, env, view, config)
    holder = session.lock("unlock").holder()
    if holder is None:
        view.line(f"{session.spec.name} is not locked.")
        view.document({"environment": session.spec.name, "broken": None})
        return ExitStatus.OK
    if session.lock("unlock").holder_alive() is None:  # a live holder is asked about in _break
        confirm(args, env, view, f"Break the lock held by {holder.describe()}?")
    _break(args, env, view, session)
    view.document({"environment": session.spec.name,
                   "broken": {"who": holder.who, "operation": holder.operation,
                              "since": holder.created}})
    return ExitStatus.OK


def _delegate(module: str, function: str) -> Any:
    """A command implemented in its own cli module; absent means not built yet."""
    def handler(args: Arguments, env: Environment, view: View, config: Path) -> ExitStatus:
        try:
            mod = importlib.import_module(f"argos_cloud.cli.{module}")
        except ModuleNotFoundError as e:
            if e.name == f"argos_cloud.cli.{module}":
                raise NotBuilt(args.command) from None
            raise
        session, hook = _session(args, env, view, config)
        _lock_options(args, env, view, session)
        result: ExitStatus = getattr(mod, function)(args, env, view, session, hook)
        return result
    return handler


def _history(args: Arguments, env: Environment, view: View, config: Path) -> ExitStatus:
    """History; `--offline` reads the local copy without connecting (or starting the sandbox)."""
    if not args.options.get("offline"):
        delegated: ExitStatus = _delegate("deploy_commands", "history")(args, env, view, config)
        return delegated
    from argos_cloud.cli.deploy_commands import history
    from argos_cloud.config import load_environment
    from argos_cloud.engine.journal import Journal
    from argos_cloud.model.names import Scope
    from argos_cloud.workflows.session import state_dir_for

    assert args.environment is not None
    spec = load_environment(config, args.environment, profile=args.profile,
                            environ=env.environ)

    class Offline:  # what deploy_commands.history reads of a session
        def __init__(self) -> None:
            self.spec = spec

        def journal(self) -> Journal:
            return Journal(None, Scope(spec.project, spec.name),  # type: ignore[arg-type]
                           local_dir=state_dir_for(config))

    return history(args, env, view, Offline(), ProgressHook(view))


def _sandbox(args: Arguments, view: View, config: Path) -> ExitStatus:
    from argos_cloud.sandbox.server import Sandbox, log_to
    from argos_cloud.workflows.session import state_dir_for

    box = Sandbox(state_dir_for(config), log=log_to(view.env.stderr))
    action = str(args.options["action"])
    if action == "start":
        hosts = bool(args.options.get("hosts")) or _config_wants_hosts(config)
        info = box.start(hosts=hosts)
    else:
        info = getattr(box, action)()
    view.document(info.to_json())
    if info.running:
        mode = "hosts: every instance a machine" if info.hosts else "API only"
        view.line(f"sandbox {'running' if action != 'stop' else 'still running'} ({mode}): "
                  f"{info.endpoint} (pid {info.pid})")
        for row in info.machines:
            view.line(f"  {row.get('instance_id', ''):<20} {row.get('role', '') or '-':<9} "
                      f"{row.get('address', ''):<15} {row.get('state', '')}")
    else:
        view.line("sandbox stopped." if action == "stop" else "sandbox is not running.")
    return ExitStatus.OK


def _config_wants_hosts(config: Path) -> bool:
    """`[sandbox] hosts = true` in the config file, when there is one."""
    import tomllib

    try:
        raw = tomllib.loads(config.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return False
    table = raw.get("sandbox")
    return isinstance(table, dict) and table.get("hosts") is True


def _validate(args: Arguments, view: View, config: Path) -> ExitStatus:
    from argos_cloud.workflows.validate import run_validate

    tree = args.options.get("tree")
    if tree is not None and not Path(str(tree)).is_dir():
        raise BadInput(f"--tree: no such folder '{tree}'")
    report = run_validate(config, Path(str(tree)) if tree else None)
    view.document(report.to_json())
    view.lines(report.lines())
    return ExitStatus.OK if report.ok else ExitStatus.FAILED


_ENV_COMMANDS = {
    "plan": _plan,
    "commission": _commission,
    "status": _status,
    "unlock": _unlock,
    "deploy": _delegate("deploy_commands", "deploy"),
    "rollback": _delegate("deploy_commands", "rollback"),
    "history": _history,
    "decommission": _delegate("teardown_commands", "decommission"),
    "clean": _delegate("teardown_commands", "clean"),
    "check": _delegate("day_two_commands", "check"),
    "graph": _delegate("day_two_commands", "graph"),
}
