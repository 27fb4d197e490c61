"""`status` and `check`: what exists by role, and what differs or is left over."""

from __future__ import annotations

from typing import TYPE_CHECKING

from argos_cloud.cli.views.base import View

if TYPE_CHECKING:
    from argos_cloud.plan.types import Actual
    from argos_cloud.workflows.check import CheckReport
    from argos_cloud.workflows.status import StatusReport


# -- status
def _describe(a: Actual) -> str:
    attrs = a.attrs
    bits = []
    for key in ("state", "instance_type", "private_ip", "dns_name", "size"):
        if attrs.get(key):
            bits.append(f"{key}={attrs[key]}")
    if a.kind == "auto_scaling_group":
        bits.append(f"desired={attrs.get('desired')} in_service={attrs.get('in_service', 0)}")
    return " ".join(bits)


def short_id(a: Actual) -> str:
    """For a table: an ARN's resource part; nothing when the id is the name."""
    if a.id == a.name:
        return ""
    if a.id.startswith("arn:"):
        return a.id.split(":", 5)[-1]
    return a.id


def resource_rows(report: StatusReport) -> list[tuple[str, str, str, str, str]]:
    return [(role, a.kind.replace("_", " "), a.name, short_id(a), _describe(a))
            for role, items in report.by_role.items() for a in items
            if a.kind != "instance"]


def instance_rows(report: StatusReport) -> list[tuple[str, ...]]:
    """The compact table: one line per instance, grouped by role."""
    from argos_cloud.workflows.status import ROLE_ORDER

    order = {r: i for i, r in enumerate(ROLE_ORDER)}
    rows = sorted(report.instances, key=lambda i: (order.get(i.role, 99), i.id))
    return [(i.role, i.id, i.state, i.private_ip or "-", i.image_id or "-", i.health or "-",
             (i.commit or "-")[:12], ", ".join(i.flags)) for i in rows]


def show_status(view: View, report: StatusReport) -> None:
    view.document(report.to_json())
    view.notes(report.notes)
    if report.empty:
        view.line(f"{report.project}/{report.environment}: nothing exists for this "
                  "environment.")
        return
    view.table(("role", "kind", "name", "id", "state"), resource_rows(report),
               title=f"{report.project}/{report.environment}")
    if report.instances:
        view.table(("role", "instance", "state", "address", "image", "health", "commit",
                    "flags"), instance_rows(report), title="instances")
    view.line(f"url: {report.url or '(no load balancer)'}")
    view.line(f"deployed commit: {report.deployed_ref or '(none yet)'}")
    for roll in report.rolls:
        if not roll.done:
            view.line(f"image rollout {roll.role}: {roll.on_current}/{roll.total} instance(s) "
                      f"on {roll.image_id}")
    for scaled in report.scales:
        config = scaled["config"]
        state = ("in force" if scaled["in_force"] else
                 "superseded: the config's sizes changed since; commission applies them")
        view.line(f"scaled: {scaled['role']} to {scaled['desired']} (range "
                  f"{scaled['min_size']}-{scaled['max_size']}) by {scaled['who']} at "
                  f"{scaled['at']}; the config says {config[2]} (range {config[0]}-"
                  f"{config[1]}): {state}")
    if report.flagged:
        view.line(f"flagged: {len(report.flagged)} instance(s) on another commit or an older "
                  "image (see flags)", style="yellow")
    if report.lock:
        view.line(f"locked by {report.lock['who']} ({report.lock['operation']}) since "
                  f"{report.lock['since']}")
    if report.last_operation:
        op = report.last_operation
        view.line(f"last operation: {op['command']} by {op['who']} at {op['at']}: "
                  f"{op['result']}" + (f" (failed at {op['failed_step']})"
                                       if op.get("failed_step") else ""))
    extra = f" (not priced: {', '.join(report.unpriced)})" if report.unpriced else ""
    view.line(f"estimated cost: ${report.hourly_usd:.3f}/hour on-demand{extra}")


# -- check
def check_lines(report: CheckReport) -> list[str]:
    where = f"{report.project}/{report.environment}"
    if report.drift:
        out = [f"drift: {len(report.drift)} change(s) would bring {where} back to its "
               "configuration:"]
        for c in report.drift:
            ident = f" ({c.before.id})" if c.before is not None else ""
            out.append(f"  {c.action.value:<7} {c.address} {c.name}{ident}: {c.reason}")
            out += [f"          {d.text()}" for d in c.details]
    else:
        out = [f"no drift: {where} matches its configuration"]
    if report.orphans:
        out.append(f"orphans: {len(report.orphans)} resource(s) of project {report.project} "
                   "belong to nothing configured:")
        out += [f"  {o.kind.replace('_', ' ')} {o.name or o.id} ({o.id}): {o.why}"
                for o in report.orphans]
    else:
        out.append(f"no orphans: everything tagged for {report.project} is accounted for")
    return out


def show_check(view: View, report: CheckReport) -> None:
    view.notes(report.notes)
    view.lines(check_lines(report))
    view.document(report.to_json())
