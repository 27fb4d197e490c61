"""`logs`: one line per journal entry, prefixed with its instance and unit; or JSON lines.

Each line is written and flushed as it comes (a follow is read as it happens), so
`--output json` gives one object per line (JSON Lines), not one document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from argos_cloud.cli.views.base import View

if TYPE_CHECKING:
    from argos_cloud.workflows.logs import LogLine, LogsResult


def log_text(line: LogLine) -> str:
    return f"{line.instance_id} {line.unit} {line.at} {line.message}"


def log_writer(view: View) -> Callable[[LogLine], None]:
    out = view.env.stdout

    def write(line: LogLine) -> None:
        text = json.dumps(line.to_json()) if view.json else log_text(line)
        out.write(text + "\n")
        out.flush()

    return write


def show_logs_end(view: View, result: LogsResult, notes: list[str]) -> None:
    """What is said once the lines are out (on stderr under JSON, as every note)."""
    view.notes(notes)
    if result.emulated:
        view.line("emulator: journalctl was sent over SSM, but nothing runs on the "
                  "instances, so there are no lines")
    for problem in result.problems:
        view.line(f"warning: {problem}", style="yellow")
