"""Walk events as they happen: a live table on a terminal, one line each elsewhere."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from argos_cloud.cli.views.base import View
from argos_cloud.engine.events import (
    Event,
    StepFailed,
    StepProgress,
    StepSkipped,
    StepStarted,
    StepSucceeded,
    WalkInterrupted,
)


class ProgressHook:
    """Walk events as one line each (thread-safe: progress comes from worker threads)."""

    def __init__(self, view: View) -> None:
        self.view = view
        self._lock = threading.Lock()

    def on_event(self, event: Event) -> None:
        with self._lock:
            self._render(event)

    def progress(self, step: str, message: str) -> None:
        self.on_event(StepProgress(step, message))

    def __enter__(self) -> ProgressHook:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _render(self, e: Event) -> None:
        v = self.view
        if isinstance(e, StepStarted):
            v.line(f"  ... {e.step}", style="dim")
        elif isinstance(e, StepSucceeded):
            v.line(f"  ok  {e.step}" + (f": {e.detail}" if e.detail else ""), style="green")
        elif isinstance(e, StepFailed):
            v.line(f"  ERR {e.step}: {e.error}", style="red")
        elif isinstance(e, StepSkipped):
            v.line(f"  --  {e.step}: skipped ({e.because})", style="yellow")
        elif isinstance(e, StepProgress):
            v.line(f"      {e.step}: {e.message}", style="dim")
        elif isinstance(e, WalkInterrupted):
            v.line(f"  interrupted: waiting for {len(e.running)} running step(s) to finish",
                   style="yellow")


class LiveProgress:
    """A Rich live table of the walk's steps, for a terminal; same events as ProgressHook."""

    SYMBOLS = {"waiting": "·", "running": "…", "ok": "✓", "failed": "✗", "skipped": "-"}
    STYLES = {"running": "cyan", "ok": "green", "failed": "red", "skipped": "yellow"}

    def __init__(self, view: View, steps: Sequence[str]) -> None:
        self.view = view
        self.rows: dict[str, list[str]] = {s: ["waiting", ""] for s in steps}
        self._lock = threading.Lock()
        self._live: Any = None

    def __enter__(self) -> LiveProgress:
        from rich.live import Live

        self._live = Live(self._render(), console=self.view._console, refresh_per_second=6,
                          transient=False)
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._live.update(self._render())
        self._live.__exit__(None, None, None)

    def progress(self, step: str, message: str) -> None:
        self.on_event(StepProgress(step, message))

    def on_event(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, StepStarted):
                self.rows.setdefault(event.step, ["", ""])[0] = "running"
            elif isinstance(event, StepSucceeded):
                self.rows.setdefault(event.step, ["", ""])[:] = ["ok", event.detail]
            elif isinstance(event, StepFailed):
                self.rows.setdefault(event.step, ["", ""])[:] = ["failed", event.error]
            elif isinstance(event, StepSkipped):
                self.rows.setdefault(event.step, ["", ""])[:] = ["skipped", event.because]
            elif isinstance(event, StepProgress):
                self.rows.setdefault(event.step, ["running", ""])[1] = event.message
            if self._live is not None:
                self._live.update(self._render())

    def _render(self) -> Any:
        from rich.table import Table

        done = sum(1 for state, _ in self.rows.values() if state == "ok")
        table = Table(title=f"{done}/{len(self.rows)} steps done", show_header=False,
                      box=None, pad_edge=False)
        table.add_column(width=1)
        table.add_column(no_wrap=True)
        table.add_column(overflow="ellipsis", no_wrap=True)
        for step, (state, detail) in self.rows.items():
            table.add_row(self.SYMBOLS.get(state, " "), step, detail,
                          style=self.STYLES.get(state))
        return table


def progress_for(view: View, steps: Sequence[str]) -> ProgressHook | LiveProgress:
    """Live table on a terminal, plain lines otherwise (or with --output json)."""
    if view._console is not None and not view.json:
        return LiveProgress(view, steps)
    return ProgressHook(view)
