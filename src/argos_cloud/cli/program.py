"""The work of each command: open the environment, call the command, which renders its result.

Catches nothing: main() maps errors to exit statuses. The command modules import
their workflows inside each command, so parsing and `--help` stay light.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from argos_cloud.cli import (
    commission_commands,
    day_two_commands,
    deploy_commands,
    lock_commands,
    operate_commands,
    teardown_commands,
    tool_commands,
)
from argos_cloud.cli.args import Arguments
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.options import HistoryOptions
from argos_cloud.cli.views import ProgressHook, View
from argos_cloud.errors import ExitStatus

if TYPE_CHECKING:
    from argos_cloud.workflows.session import Session

ToolCommand = Callable[[Arguments, Environment, View, Path], ExitStatus]
EnvCommand = Callable[[Arguments, Environment, View, "Session", ProgressHook], ExitStatus]

TOOL_COMMANDS: dict[str, ToolCommand] = {
    "version": tool_commands.version,
    "init": tool_commands.init,
    "validate": tool_commands.validate,
    "sandbox": tool_commands.sandbox,
}
ENV_COMMANDS: dict[str, EnvCommand] = {
    "plan": commission_commands.plan,
    "commission": commission_commands.commission,
    "status": day_two_commands.status,
    "check": day_two_commands.check,
    "graph": day_two_commands.graph,
    "unlock": lock_commands.unlock,
    "deploy": deploy_commands.deploy,
    "rollback": deploy_commands.rollback,
    "history": deploy_commands.history,
    "decommission": teardown_commands.decommission,
    "clean": teardown_commands.clean,
    "scale": operate_commands.scale,
    "exec": operate_commands.exec_command,
    "logs": operate_commands.logs,
}


def program(args: Arguments, env: Environment) -> ExitStatus:
    view = View(env, args.output, args.verbose)
    config = args.config if args.config.is_absolute() else env.cwd / args.config
    tool = TOOL_COMMANDS.get(args.command)
    if tool is not None:
        return tool(args, env, view, config)
    if isinstance(args.options, HistoryOptions) and args.options.offline:
        return deploy_commands.history_offline(args, env, view, config)  # no connection
    session, hook = open_environment(args, env, view, config)
    return ENV_COMMANDS[args.command](args, env, view, session, hook)


def open_environment(args: Arguments, env: Environment, view: View,
                     config: Path) -> tuple[Session, ProgressHook]:
    """The session, its progress shown as lines; where AWS is reached is kept for errors."""
    from argos_cloud.cli.views.base import log_to
    from argos_cloud.config import load_environment
    from argos_cloud.workflows.session import open_session

    assert args.environment is not None
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
