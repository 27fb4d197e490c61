"""The tool commands: `version`, `init`, `validate` and `sandbox`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from argos_cloud.cli.views.base import View

if TYPE_CHECKING:
    from argos_cloud.sandbox.server import SandboxInfo
    from argos_cloud.workflows.init import InitResult
    from argos_cloud.workflows.validate import ValidateReport


def show_version(view: View, version: str) -> None:
    view.document({"version": version})
    if not view.json:
        view.line(f"argos-cloud {version}")


def init_lines(made: InitResult) -> list[str]:
    out = [f"created {p}" for p in made.created]
    out += [f"kept    {p} (already there; not overwritten)" for p in made.kept]
    out.append("next: edit argos-cloud.toml, then 'argos-cloud validate' and "
               "'argos-cloud qa plan'")
    return out


def show_init(view: View, made: InitResult) -> None:
    view.document({"created": [str(p) for p in made.created],
                   "kept": [str(p) for p in made.kept]})
    view.lines(init_lines(made))


def validate_lines(report: ValidateReport) -> list[str]:
    out = [f"validating the Salt tree {report.tree} with real Salt (offline, mock):"]
    for r in report.results:
        if r.ok:
            out.append(f"  ok   {r.role:<9} {r.states} states rendered and validated")
        else:
            out.append(f"  FAIL {r.role:<9} " + "; ".join(r.errors))
    out.append("all roles valid." if report.ok else "validation failed.")
    return out


def show_validate(view: View, report: ValidateReport) -> None:
    view.document(report.to_json())
    view.lines(validate_lines(report))


def show_sandbox(view: View, action: str, info: SandboxInfo) -> None:
    view.document(info.to_json())
    if info.running:
        mode = "hosts: every instance a machine" if info.hosts else "API only"
        view.line(f"sandbox {'running' if action != 'stop' else 'still running'} ({mode}): "
                  f"{info.endpoint} (pid {info.pid})")
        for row in info.machines:
            view.line(f"  {row.get('instance_id', ''):<20} {row.get('role', '') or '-':<9} "
                      f"{row.get('address', ''):<15} {row.get('state', '')}")
    else:
        view.line("sandbox stopped." if action == "stop" else "sandbox is not running.")
