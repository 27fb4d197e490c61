"""The command line: global flags anywhere, then `ENV COMMAND` or a tool command.

Kept free of heavy imports so that `--help` starts fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from argos_cloud.cli.options import CommandOptions, NoOptions, options_from
from argos_cloud.errors import BadInput

ENV_COMMANDS = {
    "commission": "build the whole environment; re-running finishes or repairs it",
    "plan": "show what commission would create, change or delete; changes nothing",
    "deploy": "bring app and worker instances to one git commit, in batches",
    "rollback": "deploy the previously deployed commit",
    "status": "everything that exists for the environment, by role",
    "history": "what was done to the environment, by whom, when, with what result",
    "decommission": "delete everything the environment has (final DB snapshot first)",
    "clean": "delete the project's image bake: its instance, the image and snapshots",
    "unlock": "break the environment's lock (when its holder is gone)",
    "check": "drift from the config and orphaned resources; exit 4 when any",
    "graph": "draw the environment's resources and what the plan would do to them",
    "scale": "set the app/worker groups' desired capacity now: scale app=N [worker=M]",
    "exec": "run a command on the environment's instances through SSM: exec -- CMD...",
    "logs": "the journal of the app's units on the instances, through SSM (-f follows)",
}
TOOL_COMMANDS = {
    "init": "write a starter config, deploy/ templates and the Salt tree here",
    "validate": "render and validate every role's Salt states with real Salt, offline",
    "sandbox": "start [--hosts] | status | stop | reset the local AWS emulator (moto)",
    "version": "print the version",
}
SANDBOX_ACTIONS = ("start", "status", "stop", "reset")


def usage_text(program: str) -> str:
    lines = [
        f"usage: {program} [global flags] ENV COMMAND [flags]",
        f"       {program} [global flags] init | validate | sandbox ACTION | version",
        f"       {program} ENV COMMAND -h   (flags of one command)",
        "",
        "Commission, deploy to, decommission and clean application environments on AWS.",
        "ENV is an environment of the config (e.g. qa, production).",
        "",
        "environment commands:",
        *[f"  {name:<13} {text}" for name, text in ENV_COMMANDS.items()],
        "",
        "tool commands:",
        *[f"  {name:<13} {text}" for name, text in TOOL_COMMANDS.items()],
        "",
        "global flags (before or after the command):",
        "  --config PATH        config file (default ./argos-cloud.toml)",
        "  --output text|json   output format (default text; json: stdout is one document)",
        "  --yes, -y            answer yes to confirmations",
        "  -v, --verbose        more detail, including errors' causes",
        "  --profile NAME       AWS profile (provider aws)",
        "  -h, --help           this help",
        "",
        "exit status: 0 ok, 1 failed, 2 bad input, 3 refused, 130 interrupted;",
        "             4 changes found (plan --detailed-exitcode, check)",
        "examples:",
        f"  {program} qa commission       {program} --output json qa plan",
        f"  {program} qa deploy --ref v1.2  {program} sandbox start --output json",
        "  python manage.py qa commission   (the same CLI)",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class Arguments:
    """Everything parsed; `command` is an ENV command or a tool command."""

    command: str
    environment: str | None = None
    config: Path = Path("argos-cloud.toml")
    output: str = "text"
    yes: bool = False
    verbose: bool = False
    profile: str | None = None
    help: bool = False
    options: CommandOptions = field(default_factory=NoOptions)
    endpoint: str | None = None  # where AWS is reached, once known: named in errors
    region: str | None = None


PARALLEL = (1, 16)
LOCK_WAIT = (0, 86400)
HISTORY_LIMIT = (1, 1000)
LOCKING_COMMANDS = ("commission", "deploy", "rollback", "decommission", "clean", "scale")
EXEC_TIMEOUT = (1, 86400)
LOG_LINES = (1, 100000)
INSTANCE_ROLES = ("app", "worker", "database", "broker", "master")


def int_in(flag: str, low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer within [low, high], else BadInput naming the range."""
    def parse_int(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise BadInput(f"{flag}: '{text}' is not a whole number ({low} to {high})") from None
        if not low <= value <= high:
            raise BadInput(f"{flag}: {value} is out of range: give {low} to {high}")
        return value
    return parse_int


def git_ref(text: str) -> str:
    """An argparse type: a valid git ref name or a 40-hex commit, on every provider."""
    from argos_cloud.config.schema import git_ref_problem

    problem = git_ref_problem(text)
    if problem:
        raise BadInput(f"--ref: {text!r} {problem}: give a branch, a tag or a 40-hex commit")
    return text


def batch_spec(text: str) -> str:
    """An argparse type: N (1 to 1000 instances) or N% (1 to 100)."""
    import re

    match = re.fullmatch(r"(\d+)(%?)", text.strip())
    high = 100 if match and match.group(2) else 1000
    if match is None or not 1 <= int(match.group(1)) <= high:
        raise BadInput(f"--batch: '{text}' is out of range: give N (1 to 1000 instances) "
                       "or N% (1 to 100%)")
    return text.strip()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadInput(f"{self.prog}: {message}")


def _extract_globals(argv: list[str], into: Arguments) -> list[str]:
    rest: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        name, eq, value = token.partition("=")
        if token == "--" and len(rest) >= 2:  # exec's command follows: kept whole for it
            rest += argv[i:]
            break
        if name in ("--config", "--output", "--profile"):
            if not eq:
                if i + 1 >= len(argv):
                    raise BadInput(f"{name} needs a value")
                value = argv[i + 1]
                i += 1
            if name == "--config":
                into.config = Path(value)
            elif name == "--output":
                if value not in ("text", "json"):
                    raise BadInput(f"--output must be 'text' or 'json', not '{value}'")
                into.output = value
            else:
                into.profile = value
        elif token in ("--yes", "-y"):
            into.yes = True
        elif token in ("-v", "--verbose"):
            into.verbose = True
        elif token == "--":
            rest += argv[i + 1:]
            break
        else:
            rest.append(token)
        i += 1
    return rest


def _command_parser(program: str, command: str) -> _Parser:
    p = _Parser(prog=f"{program} ENV {command}", add_help=True,
                description=ENV_COMMANDS.get(command, ""))
    if command in LOCKING_COMMANDS:
        p.add_argument("--break-lock", action="store_true",
                       help="break the lock first; a live holder's only after confirmation "
                            "(with --yes only together with --force)")
        p.add_argument("--lock-wait", type=int_in("--lock-wait", *LOCK_WAIT), default=0,
                       metavar="SECONDS",
                       help="wait up to SECONDS for a live holder instead of failing")
    if command in ("commission", "deploy", "rollback", "decommission", "unlock"):
        p.add_argument("--force", action="store_true",
                       help="with --yes: break a lock whose holder is still alive")
    if command == "commission":
        p.add_argument("--parallel", type=int_in("--parallel", *PARALLEL), default=4,
                       help="steps run at once (1-16)")
    if command in ("commission", "plan"):
        p.add_argument("--restore-snapshot", metavar="SNAPSHOT_ID|latest",
                       help="make the database's data volume from this snapshot "
                            "(refused while the volume exists)")
    if command in ("commission", "plan"):
        _seed_flags(p)
    if command == "plan":
        p.add_argument("--detailed-exitcode", action="store_true",
                       help="exit 0 when nothing would change, 4 when something would")
    if command == "graph":
        p.add_argument("--format", choices=["svg", "png", "dot", "mermaid"], default="svg")
        p.add_argument("--output-file", type=Path, help="write here (default: stdout)")
    if command == "deploy":
        p.add_argument("--ref", type=git_ref,
                       help="commit, branch or tag (default: the config's ref)")
        p.add_argument("--roles", nargs="+", choices=["app", "worker"],
                       default=["app", "worker"])
        p.add_argument("--batch", type=batch_spec, default="50%",
                       help="instances per batch: N or N%%")
    if command == "rollback":
        p.add_argument("--roles", nargs="+", choices=["app", "worker"],
                       default=["app", "worker"])
        p.add_argument("--batch", type=batch_spec, default="50%")
    if command == "decommission":
        p.add_argument("--delete-image", action="store_true",
                       help="also delete the project's image (shared by environments)")
        p.add_argument("--skip-final-snapshot", action="store_true",
                       help="do not snapshot the database's data volume first")
    if command == "clean":
        p.add_argument("--force", action="store_true",
                       help="clean even while launch templates still use the image")
    if command == "scale":
        p.add_argument("groups", nargs="+", metavar="ROLE=N",
                       help="app=N and/or worker=N: the desired capacity")
        p.add_argument("--min", dest="min_size", type=int_in("--min", *SIZE), metavar="N",
                       help="also move the named groups' minimum to N (0-1000)")
        p.add_argument("--max", dest="max_size", type=int_in("--max", *SIZE), metavar="N",
                       help="also move the named groups' maximum to N (0-1000)")
    if command in ("exec", "logs"):
        p.add_argument("--instance", metavar="ID", help="this instance of the environment")
    if command == "exec":
        p.add_argument("--role", choices=INSTANCE_ROLES, default="app",
                       help="instances of this role (default app)")
        p.add_argument("--all", action="store_true",
                       help="every running instance of the role (default: one healthy one)")
        p.add_argument("--timeout", type=int_in("--timeout", *EXEC_TIMEOUT), default=600,
                       metavar="SECONDS", help="the command's time limit (1-86400, default 600)")
        p.add_argument("command", nargs="*", metavar="-- COMMAND",
                       help="after --: the program and its arguments (one quoted word with "
                            "spaces runs through bash -c)")
    if command == "logs":
        p.add_argument("--role", choices=INSTANCE_ROLES,
                       help="instances of this role (default: app and worker)")
        p.add_argument("--unit", action="append", default=[], metavar="UNIT",
                       help="this systemd unit only (repeatable; a glob like 'argos-*' works); "
                            "default: the role's own units")
        p.add_argument("--since", type=log_since, metavar="10m|TIMESTAMP",
                       help="from this long ago (30s, 10m, 2h, 1d) or this time "
                            "(2026-12-07 20:00[:00], UTC)")
        p.add_argument("--lines", "-n", type=int_in("--lines", *LOG_LINES), metavar="N",
                       help="the last N lines of each instance (default 100 without --since)")
        p.add_argument("--follow", "-f", action="store_true",
                       help="keep showing new lines (polls with the journal's cursor, so "
                            "nothing is shown twice or skipped); Ctrl-C ends it")
    if command == "history":
        p.add_argument("--limit", type=int_in("--limit", *HISTORY_LIMIT), default=20,
                       help="entries shown (1-1000)")
        p.add_argument("--offline", action="store_true", help="read the local copy only")
    return p


SIZE = (0, 1000)


def log_since(text: str) -> str:
    """An argparse type: a duration back (30s, 10m, 2h, 1d) or a UTC timestamp."""
    from argos_cloud.provision.journal import since_problem

    problem = since_problem(text)
    if problem:
        raise BadInput(f"--since: '{text}' {problem}")
    return text


def instance_type(text: str) -> str:
    """An argparse type: an EC2 instance type's spelling (family.size)."""
    import re

    if not re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9]+", text):
        raise BadInput(f"--instance_type: '{text}' is not an instance type (e.g. t3.medium)")
    return text


def _seed_flags(p: _Parser) -> None:
    """The seed's manage.py flags, spelled as it spelled them (and with hyphens)."""
    p.add_argument("--instance_type", "--instance-type", dest="instance_type",
                   type=instance_type, metavar="TYPE",
                   help="this run only: the app group's instance type (the config is "
                        "unchanged; the next run without the flag goes back to it)")
    p.add_argument("--min_size", "--min-size", dest="min_size",
                   type=int_in("--min_size", *SIZE), metavar="N",
                   help="this run only: the app group's minimum size (0-1000); its desired "
                        "count is raised to it if below")
    p.add_argument("--max_size", "--max-size", dest="max_size",
                   type=int_in("--max_size", *SIZE), metavar="N",
                   help="this run only: the app group's maximum size (0-1000); its desired "
                        "count is lowered to it if above")
    p.add_argument("-ssh", "--ssh", dest="ssh", action="store_true",
                   help="open SSH (port 22) from the config's [ssh] cidrs, as the seed's "
                        "-ssh did; it is open whenever cidrs are configured, and refused "
                        "(exit 2) when none are: never to the world")


def parse(argv: list[str], program: str = "argos-cloud") -> Arguments:
    """Parse `argv`; bad usage raises BadInput (exit 2)."""
    args = Arguments(command="help")
    rest = _extract_globals(list(argv), args)
    if not rest or rest[0] in ("-h", "--help", "help"):
        args.help = True
        if not rest and not argv:
            raise BadInput("missing command (try --help)")
        return args
    first = rest[0]
    if first in ("--version",):
        args.command = "version"
        return args
    if first.startswith("-"):
        raise BadInput(f"unknown flag '{first}' (try --help)")
    if first in TOOL_COMMANDS:
        args.command = first
        p = _Parser(prog=f"{program} {first}", description=TOOL_COMMANDS[first])
        if first == "sandbox":
            p.add_argument("action", choices=SANDBOX_ACTIONS)
            p.add_argument("--hosts", action="store_true",
                           help="start: every instance a booted Debian machine (root, Linux)")
        if first == "validate":
            p.add_argument("--tree", type=Path, help="a state tree folder (default: config's)")
        args.options = options_from(first, p.parse_args(rest[1:]))
        return args
    if first in ENV_COMMANDS:
        raise BadInput(f"'{first}' needs an environment first: {program} ENV {first}")
    from argos_cloud.config.schema import validate_environment_name

    problem = validate_environment_name(first)
    if problem:
        raise BadInput(problem)
    args.environment = first
    if len(rest) < 2:
        raise BadInput(f"missing command after '{first}': one of "
                       f"{', '.join(ENV_COMMANDS)}")
    command = rest[1]
    if command in ("-h", "--help"):
        args.help = True
        return args
    if command not in ENV_COMMANDS:
        raise BadInput(f"unknown command '{command}': one of {', '.join(ENV_COMMANDS)}")
    args.command = command
    args.options = options_from(command, _command_parser(program, command).parse_args(rest[2:]))
    return args
