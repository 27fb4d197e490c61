"""`unlock` and `--break-lock`: whose lock was broken, or that there was none."""

from __future__ import annotations

from typing import TYPE_CHECKING

from argos_cloud.cli.views.base import View

if TYPE_CHECKING:
    from argos_cloud.engine.lock import LockRecord


def show_broken(view: View, old: LockRecord) -> None:
    view.line(f"broke the lock held by {old.describe()}")


def show_unlocked(view: View, environment: str, holder: LockRecord | None) -> None:
    """The outcome of `unlock`: None when the environment was not locked."""
    if holder is None:
        view.line(f"{environment} is not locked.")
        view.document({"environment": environment, "broken": None})
        return
    view.document({"environment": environment,
                   "broken": {"who": holder.who, "operation": holder.operation,
                              "since": holder.created}})
