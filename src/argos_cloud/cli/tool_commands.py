"""The tool commands, which need no environment: `version`, `init`, `validate`, `sandbox`."""

from __future__ import annotations

from pathlib import Path

from argos_cloud.cli.args import Arguments
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.options import SandboxOptions, ValidateOptions, expect
from argos_cloud.cli.views import View
from argos_cloud.cli.views.tools import show_init, show_sandbox, show_validate, show_version
from argos_cloud.errors import BadInput, ExitStatus


def version(args: Arguments, env: Environment, view: View, config: Path) -> ExitStatus:
    from argos_cloud import __version__

    show_version(view, __version__)
    return ExitStatus.OK


def init(args: Arguments, env: Environment, view: View, config: Path) -> ExitStatus:
    from argos_cloud.workflows.init import init as run_init

    show_init(view, run_init(env.cwd))
    return ExitStatus.OK


def validate(args: Arguments, env: Environment, view: View, config: Path) -> ExitStatus:
    from argos_cloud.workflows.validate import run_validate

    tree = expect(args.options, ValidateOptions).tree
    if tree is not None and not tree.is_dir():
        raise BadInput(f"--tree: no such folder '{tree}'")
    report = run_validate(config, tree)
    show_validate(view, report)
    return ExitStatus.OK if report.ok else ExitStatus.FAILED


def sandbox(args: Arguments, env: Environment, view: View, config: Path) -> ExitStatus:
    from argos_cloud.cli.views.base import log_to
    from argos_cloud.sandbox.server import Sandbox
    from argos_cloud.workflows.session import state_dir_for

    options = expect(args.options, SandboxOptions)
    box = Sandbox(state_dir_for(config), log=log_to(view.env.stderr))
    if options.action == "start":
        info = box.start(hosts=options.hosts or _config_wants_hosts(config))
    elif options.action == "stop":
        info = box.stop()
    elif options.action == "reset":
        info = box.reset()
    else:
        info = box.status()
    show_sandbox(view, options.action, info)
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
