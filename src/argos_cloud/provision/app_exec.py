"""The shell an `exec` sends: the user's command as the app runs, on either host layout.

Where: `/srv/argos/current` (the release layout, DESIGN §8) if it exists, else the
checkout `/srv/argos/app`. Who: the app user `argos` when the host has one (else
root, as SSM runs). With what: the app unit's own `Environment=` lines, then the
environment file `/srv/argos/etc/env` when present (read as data, never run as
shell), and the release's virtualenv (`<release>/.venv`, else `/srv/argos/venv`)
first on PATH. Pure: tested with ==.
"""

from __future__ import annotations

import re
import shlex

from argos_cloud.provision.remote import SHEBANG

HOME = "/srv/argos"
CURRENT = f"{HOME}/current"
CHECKOUT = f"{HOME}/app"
ENV_FILE = f"{HOME}/etc/env"
APP_USER = "argos"
# The units whose Environment= the app's processes get, newest names first.
APP_UNITS = ("argos-web", "argos-gunicorn", "argos-worker", "argos-celery")
SHELL_SYNTAX = re.compile(r"[\s|&;<>()$`\\\"'*?~#=]")


def command_line(argv: list[str]) -> str:
    """The command as the host's shell gets it: argv quoted word by word; one word that
    holds shell syntax (`'manage.py x | head'`) is a script for bash -c."""
    if len(argv) == 1 and SHELL_SYNTAX.search(argv[0]):
        return f"bash -c {shlex.quote(argv[0])}"
    return shlex.join(argv)


def exec_script(argv: list[str]) -> list[str]:
    """The lines of the SSM script; its exit status is the command's."""
    units = " ".join(APP_UNITS)
    return [
        SHEBANG,
        "set -u",
        f"if [ -d {CURRENT} ]; then cd {CURRENT}; elif [ -d {CHECKOUT} ]; then cd {CHECKOUT}; "
        "else cd /; fi",
        f"for unit in {units}; do",
        '  vars=$(systemctl show -p Environment --value "$unit" 2>/dev/null) || vars=""',
        '  if [ -n "$vars" ]; then set -f; for kv in $vars; do export "$kv"; done; set +f; break; '
        'fi',
        "done",
        f"if [ -r {ENV_FILE} ]; then",
        "  while IFS= read -r line || [ -n \"$line\" ]; do",
        "    case \"$line\" in ''|'#'*|';'*) continue;; esac",
        "    key=${line%%=*}; value=${line#*=}",
        "    case \"$value\" in",
        "      \\\"*\\\") value=${value:1:${#value}-2};;",
        "      \\'*\\') value=${value:1:${#value}-2};;",
        "    esac",
        "    export \"$key=$value\"",
        f"  done < {ENV_FILE}",
        "fi",
        f'if [ -x "$PWD/.venv/bin/python" ]; then export VIRTUAL_ENV="$PWD/.venv"; '
        f"elif [ -x {HOME}/venv/bin/python ]; then export VIRTUAL_ENV={HOME}/venv; fi",
        'if [ -n "${VIRTUAL_ENV:-}" ]; then export PATH="$VIRTUAL_ENV/bin:$PATH"; fi',
        f"if id -u {APP_USER} >/dev/null 2>&1; then",
        f"  export HOME={HOME} USER={APP_USER} LOGNAME={APP_USER}",
        f"  exec runuser -u {APP_USER} -- {command_line(argv)}",
        "fi",
        f"exec {command_line(argv)}",
    ]
