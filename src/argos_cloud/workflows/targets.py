"""Which instances a remote command (`exec`, `logs`) reaches: by role, by id, healthy first.

Read calls only: one describe of the environment's instances, and for a group its
members' health (the Auto Scaling group's, and the load balancer's for app).
"""

from __future__ import annotations

from dataclasses import dataclass

from argos_cloud.errors import BadInput, Refused
from argos_cloud.workflows.session import Session

GROUP_ROLES = ("app", "worker")


@dataclass(frozen=True)
class Target:
    """One running instance of the environment, and whether it is fit to take a command."""

    id: str
    role: str
    private_ip: str | None
    healthy: bool
    why: str  # its health as read ("healthy", "unhealthy behind the load balancer", …)


def instances(session: Session, roles: tuple[str, ...]) -> list[Target]:
    """The running instances of these roles, sorted by role order then id."""
    from argos_cloud.kinds import auto_scaling_group, instance

    running = [a for a in instance.read_all(session.clients, session.scope)
               if a.role in roles and a.attrs.get("state") == "running"]
    group_health: dict[str, str] = {}
    lb_health: dict[str, str] = {}
    for role in GROUP_ROLES:
        if role not in roles or not any(a.role == role for a in running):
            continue
        ops = auto_scaling_group.GroupOps(session.clients, session.scope, role)
        for member in ops.members():  # InService members only
            group_health[str(member["id"])] = str(member.get("health") or "")
        if role == "app":
            lb_health.update(ops.target_health())
    out = []
    for a in running:
        healthy, why = True, "running"
        if a.attrs.get("group"):
            state = group_health.get(a.id)
            if state != "Healthy":
                healthy, why = False, ("not in service in its group" if state is None
                                       else f"{state} in its group")
            elif a.role == "app" and lb_health.get(a.id, "unregistered") != "healthy":
                healthy = False
                why = f"{lb_health.get(a.id, 'not registered')} behind the load balancer"
            else:
                why = "healthy"
        out.append(Target(a.id, a.role, a.attrs.get("private_ip"), healthy, why))
    order = {r: i for i, r in enumerate(roles)}
    return sorted(out, key=lambda t: (order.get(t.role, 99), t.id))


def choose(found: list[Target], *, role: str | None, instance_id: str | None,
           every: bool, where: str) -> list[Target]:
    """Pure: the one named, every one (`every`), or the first healthy one of `role`.

    Never all by surprise: without `every` one instance is chosen, and an unhealthy
    one only when named.
    """
    if instance_id is not None:
        named = [t for t in found if t.id == instance_id]
        if not named:
            raise BadInput(f"--instance {instance_id}: not a running instance of {where}"
                           + (f" ({role})" if role else ""))
        return named
    of_role = [t for t in found if role is None or t.role == role]
    if not of_role:
        raise Refused(f"{where} has no running {role or ''} instance".replace("  ", " ")
                      + ": run commission first")
    if every:
        return of_role
    healthy = [t for t in of_role if t.healthy]
    if not healthy:
        seen = ", ".join(f"{t.id}: {t.why}" for t in of_role)
        raise Refused(f"{where} has no healthy {role} instance ({seen}); name one with "
                      "--instance ID")
    return healthy[:1]
