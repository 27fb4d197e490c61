"""The view: text lines, tables, the plan like Terraform's, or one JSON document.

With `--output json`, stdout holds the JSON document alone; lines and notices go to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

from argos_cloud.cli.environment import Environment
from argos_cloud.plan.types import SYMBOL, Action, CostEstimate, Plan


class View:
    """Text or JSON; colour (Rich) only when stdout is a terminal."""

    def __init__(self, env: Environment, output: str, verbose: bool = False) -> None:
        self.env, self.json, self.verbose = env, output == "json", verbose
        self._said: set[str] = set()  # notices already shown: each is said once
        self._console: Any = None
        if not self.json and env.stdout_is_terminal:
            from rich.console import Console

            self._console = Console(file=env.stdout, highlight=False)

    # -- plumbing
    def line(self, text: str = "", style: str | None = None) -> None:
        """A human line: stdout in text mode, stderr in JSON mode; a note said is not repeated."""
        if text in self._said:
            return
        if self.json:
            self.env.stderr.write(text + "\n")
        elif self._console is not None:
            self._console.print(text, style=style, markup=False)
        else:
            self.env.stdout.write(text + "\n")

    def lines(self, lines: Iterable[str]) -> None:
        for text in lines:
            self.line(text)

    def document(self, data: Any) -> None:
        if self.json:
            self.env.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")

    def notes(self, notes: Iterable[str]) -> None:
        """Each note once per run, however many results carry it."""
        for note in notes:
            if note not in self._said:
                self.line(f"note: {note}", style="yellow")
                self._said.add(note)

    # -- plan
    def show_plan(self, plan: Plan) -> None:
        if self.json:
            return
        self.line(f"Plan for {plan.project}/{plan.environment}:", style="bold")
        for c in plan.changes:
            if c.action is Action.NOOP and not self.verbose:
                continue
            ident = f" ({c.before.id})" if c.before is not None else ""
            style = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.REPLACE: "magenta",
                     Action.DELETE: "red"}.get(c.action)
            self.line(f"  {SYMBOL[c.action]:>3} {c.address:<36} {c.name}{ident}: {c.reason}",
                      style=style)
            for d in c.details:
                self.line(f"        {d.text()}", style="dim")
        counts = plan.counts()
        if plan.empty:
            self.line(f"No changes: the environment matches the configuration "
                      f"({counts['no-op']} resources).", style="green")
        else:
            self.line(f"Plan: {counts['create']} to create, {counts['update']} to update, "
                      f"{counts['replace']} to replace, {counts['delete']} to delete, "
                      f"{counts['no-op']} unchanged.", style="bold")
        self.show_cost(plan.cost)

    def show_cost(self, cost: CostEstimate | None) -> None:
        if cost is None or self.json:
            return
        extra = f" (not priced: {', '.join(cost.unpriced)})" if cost.unpriced else ""
        change = (f"${cost.before:.3f} → ${cost.after:.3f}" if abs(cost.after - cost.before)
                  > 1e-9 else f"${cost.after:.3f} (unchanged)")
        self.line(f"Hourly cost (on-demand estimate): {change}{extra}")

    def table(self, headers: tuple[str, ...], rows: Sequence[tuple[str, ...]],
              title: str | None = None) -> None:
        if self.json:
            return
        if self._console is not None:
            from rich.table import Table

            t = Table(title=title)
            for h in headers:
                t.add_column(h)
            for r in rows:
                t.add_row(*r)
            self._console.print(t)
            return
        if title:
            self.line(title)
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
                  for i, h in enumerate(headers)]
        self.line("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
        for r in rows:
            self.line("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def write_error(stream: TextIO, json_mode: bool, message: str, status: int,
                detail: str | None = None) -> None:
    if json_mode:
        body: dict[str, Any] = {"error": message, "exit_status": status}
        if detail:
            body["detail"] = detail
        stream.write(json.dumps(body) + "\n")
    else:
        stream.write(f"argos-cloud: error: {message}\n")
        if detail:
            stream.write(f"{detail}\n")


def log_to(stream: TextIO) -> Callable[[str], None]:
    """The sandbox's `log`: each progress message one prefixed line on `stream`, at once."""
    def write(text: str) -> None:
        stream.write(f"argos-cloud: sandbox: {text}\n")
        stream.flush()

    return write
