"""`exec`: each instance's output and exit code, in the order they were chosen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from argos_cloud.cli.views.base import View

if TYPE_CHECKING:
    from argos_cloud.workflows.exec import ExecResult


def exec_lines(result: ExecResult) -> list[str]:
    out: list[str] = []
    for r in result.ran:
        code = f"exit {r.exit_code}" if r.exit_code is not None else r.status.lower()
        out.append(f"== {r.instance_id} ({r.role}): {code} ==")
        out += r.stdout.rstrip("\n").split("\n") if r.stdout else []
        if r.stderr:
            out.append("-- stderr --")
            out += r.stderr.rstrip("\n").split("\n")
    if result.emulated:
        out.append("emulator: the command was sent over SSM but nothing ran (empty output, "
                   "exit 0 are the emulator's, not the command's)")
    failed = [r for r in result.ran if not r.ok]
    if failed:
        out.append(f"failed on {len(failed)} of {len(result.ran)} instance(s): "
                   + ", ".join(r.instance_id for r in failed))
    return out


def show_exec(view: View, result: ExecResult, notes: list[str]) -> None:
    view.notes(notes)
    view.lines(exec_lines(result))
    view.document({**result.to_json(), "notes": notes})
