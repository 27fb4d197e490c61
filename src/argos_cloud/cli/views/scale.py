"""`scale`: each group's sizes before → after, and how the config and the scale agree."""

from __future__ import annotations

from typing import TYPE_CHECKING

from argos_cloud.cli.views.base import View

if TYPE_CHECKING:
    from argos_cloud.workflows.scale import ScaleResult


def scale_lines(result: ScaleResult) -> list[str]:
    out = []
    for role, old, new in result.changes:
        out.append(f"{role}: desired {old[2]} → {new[2]} (range {old[0]}-{old[1]}"
                   + ("" if old[:2] == new[:2] else f" → {new[0]}-{new[1]}") + ")")
    out.append("recorded: plan and commission keep these sizes until the config's own "
               "sizes for the group change; then the config's apply")
    if result.emulated:
        out.append("emulator: the group's desired capacity is set; no machine boots")
    return out


def show_scaled(view: View, result: ScaleResult, notes: list[str]) -> None:
    view.notes(notes)
    view.lines(scale_lines(result))
    view.document({**result.to_json(), "notes": notes})
