"""Entry points: parse, run the program, turn every error into one line and an exit status."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from argos_cloud.cli.args import Arguments, parse, usage_text
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.views import write_error
from argos_cloud.errors import ArgosError, ExitStatus


def main(argv: Sequence[str], env: Environment) -> int:
    """Everything a run does; returns the exit status (never raises, except SystemExit 0)."""
    json_mode = "json" in _output_hint(argv)
    try:
        args = parse(list(argv), env.program)
    except ArgosError as e:
        hint = "" if json_mode else f" (see '{env.program} --help')"  # one line, still
        write_error(env.stdout if json_mode else env.stderr, json_mode, f"{e}{hint}",
                    int(e.exit_status))
        return int(e.exit_status)
    except SystemExit as e:  # argparse printed a command's -h
        return int(e.code or 0)
    if args.help:
        env.stdout.write(usage_text(env.program))
        return int(ExitStatus.OK)
    _logging(args)
    try:
        from argos_cloud.cli.program import program

        return int(program(args, env))
    except ArgosError as e:
        write_error(env.stdout if args.output == "json" else env.stderr,
                    args.output == "json", str(e), int(e.exit_status),
                    e.detail if args.verbose else None)
        return int(e.exit_status)
    except KeyboardInterrupt:
        write_error(env.stderr, False, "interrupted; re-run the command to resume", 130)
        return int(ExitStatus.INTERRUPTED)
    except Exception as e:  # an AWS error not mapped by a kind: still one line
        from argos_cloud.aws.errors import as_aws_error, error_code, explain

        known = explain(e, args.endpoint, args.region)
        if known is not None:
            write_error(env.stdout if args.output == "json" else env.stderr,
                        args.output == "json", str(known), int(known.exit_status))
            return int(known.exit_status)
        if error_code(e):
            err = as_aws_error("AWS", e)
            write_error(env.stdout if args.output == "json" else env.stderr,
                        args.output == "json", str(err), int(err.exit_status))
            return int(ExitStatus.FAILED)
        if args.verbose:
            raise
        write_error(env.stderr, args.output == "json",
                    f"internal error: {type(e).__name__}: {e} (run with -v for the traceback; "
                    "please report it)", 1)
        return int(ExitStatus.FAILED)


def _output_hint(argv: Sequence[str]) -> str:
    """--output before a full parse, so even a usage error can be JSON."""
    for i, token in enumerate(argv):
        if token == "--output" and i + 1 < len(argv):
            return argv[i + 1]
        if token.startswith("--output="):
            return token.split("=", 1)[1]
    return "text"


def _logging(args: Arguments) -> None:
    level = logging.DEBUG if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run(program: str = "argos-cloud") -> None:
    """Console script and manage.py."""
    sys.exit(main(sys.argv[1:], Environment(program=program)))
