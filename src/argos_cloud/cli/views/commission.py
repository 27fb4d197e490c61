"""`plan` and `commission`: the plan (see `View.show_plan`), image rolls, what was done."""

from __future__ import annotations

from typing import TYPE_CHECKING

from argos_cloud.cli.views.base import View
from argos_cloud.cli.views.deploy import show_rolls

if TYPE_CHECKING:
    from argos_cloud.plan.types import Plan
    from argos_cloud.workflows.commission import CommissionResult
    from argos_cloud.workflows.roll import RollResult


def show_planned(view: View, plan: Plan, notes: list[str]) -> None:
    """`plan`: the session's notes, then the plan, as text or its JSON."""
    view.notes(notes)
    view.show_plan(plan)
    view.document(plan.to_json())


def show_nothing_to_commission(view: View, environment: str, plan: Plan, notes: list[str],
                               rolls: list[RollResult]) -> None:
    """An empty plan: only image rolls left over from an earlier run may have been resumed."""
    show_rolls(view, rolls)
    view.document({"environment": environment, "ok": True, "changed": bool(rolls),
                   "plan": plan.to_json(), "notes": notes,
                   "image_rolls": [r.to_json() for r in rolls]})


def show_commissioned(view: View, project: str, environment: str, result: CommissionResult,
                      plan_notes: tuple[str, ...]) -> None:
    """Done: the image rolls, the notes the plan did not already say, the step count."""
    show_rolls(view, result.rolls)
    view.notes([n for n in result.notes if n not in plan_notes])
    view.line(f"Commissioned {project}/{environment}: "
              f"{len(result.walk.succeeded) if result.walk else 0} step(s) done.", style="bold")
    view.document({**result.to_json(), "changed": True})


def show_commission_failed(view: View, result: CommissionResult, error: str) -> None:
    show_rolls(view, result.rolls)
    view.document({**result.to_json(), "error": error})
