"""`deploy`, `rollback`, image rolls and `history`: what was sent, applied and recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from argos_cloud.cli.views.base import View

if TYPE_CHECKING:
    from argos_cloud.engine.journal import JournalEntry
    from argos_cloud.workflows.deploy import DeployResult
    from argos_cloud.workflows.roll import RollResult


def deploy_lines(result: DeployResult, *, verbose: bool = False) -> list[str]:
    """Reported as sent, never as applied when emulated.

    Each command sent is shown by its Salt call; the filter it pipes the JSON
    through (a page of Python) only with -v, and always in the JSON document.
    """
    from argos_cloud.workflows.deploy import EMULATION

    ref = "" if result.ref == result.commit else f" ({result.ref})"
    out = [f"{result.command} {result.environment}: commit {result.commit}{ref}"]
    if result.rotated:
        out.append(f"  {', '.join(sorted(result.rotated))}: each batch drained from the load "
                   "balancer before it changed and put back once healthy"
                   + (f"; stand-in(s) {', '.join(result.stand_ins)} kept the capacity"
                      if result.stand_ins else ""))
    for b in result.batches:
        health = ", ".join(f"{i} {s}" for i, s in sorted(b.health.items()))
        out.append(f"  {b.step}: {b.status} — {', '.join(b.instance_ids)}"
                   + (f"; target health{' (emulator)' if result.emulated else ''}: {health}"
                      if health else ""))
        out += [f"      {p}" for p in b.problems]
    if result.emulated:
        out.append(EMULATION + ". Sent to the master " + result.master + ":")
        out += [f"  {c['command_id']}: {_sent(c['commands'][-1], verbose)}"
                for c in result.commands]
    if result.recorded:
        out.append(f"recorded {result.commit} as the deployed commit"
                   + (f" (was {result.previous})" if result.previous else ""))
    else:
        out.append(f"{result.commit} was NOT recorded: the deployed commit is unchanged"
                   + (f" ({result.previous})" if result.previous else ""))
    return out


def _sent(command: str, verbose: bool) -> str:
    call, pipe, _ = command.partition(" | ")
    return command if verbose or not pipe else f"{call} | … (-v shows the filter)"


def show_deploy(view: View, result: DeployResult, error: str | None = None) -> None:
    """One result, both ways; a deploy that failed (`error`) is shown the same way."""
    view.lines(deploy_lines(result, verbose=view.verbose))
    view.notes(result.notes)
    view.document(result.to_json() if error is None else {**result.to_json(), "error": error})


def roll_lines(roll: RollResult) -> list[str]:
    return [f"image roll {roll.role} batch {b.index}/{len(roll.batches)}: {b.status}"
            f" — {', '.join(b.old)} → {', '.join(b.new) or '-'}"
            + (f" ({b.problem})" if b.problem else "") for b in roll.batches]


def show_rolls(view: View, rolls: list[RollResult]) -> None:
    for roll in rolls:
        view.lines(roll_lines(roll))


def history_json(environment: str, entries: list[JournalEntry]) -> dict[str, Any]:
    return {"environment": environment,
            "entries": [{"command": e.command, "commit": e.commit, "who": e.who, "at": e.at,
                         "finished": e.finished, "result": e.result,
                         "failed_step": e.failed_step, "detail": e.detail} for e in entries]}


def show_history(view: View, project: str, environment: str, entries: list[JournalEntry], *,
                 offline: bool) -> None:
    view.document(history_json(environment, entries))
    source = " (local copy)" if offline else ""
    if not entries:
        view.line(f"{project}/{environment}: no operations recorded{source}.")
        return
    rows = [(e.at, e.command, (e.commit or "")[:12], e.who, e.result, e.failed_step or "")
            for e in entries]
    view.table(("started", "command", "commit", "who", "result", "failed step"), rows,
               title=f"{project}/{environment} history{source}")
