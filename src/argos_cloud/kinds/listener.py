"""The load balancer's HTTP listener, forwarding to the app target group.

Listeners cannot be listed by tag: they are read through the environment's own
load balancer (one per environment). moto accepts two listeners on one port,
so create looks at the balancer's listeners first and adopts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import tolerate
from argos_cloud.kinds import load_balancer
from argos_cloud.kinds.base import Context, Declared, same_address
from argos_cloud.kinds.target_group import address_for
from argos_cloud.model.names import Scope, tag_list
from argos_cloud.plan.details import Shown
from argos_cloud.plan.references import Reference
from argos_cloud.plan.types import Action, Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "listener"
MAIN_PORT = 80  # the model's one listener; any other is an extra to delete
DECLARED = Declared(
    references=(Reference("load_balancer", "load_balancer_arn", Action.REPLACE),
                Reference("target_group", "target_group_arn")),
    shown=(Shown("port", "port"), Shown("protocol", "protocol")),
)
match = same_address


def read(clients: Clients, scope: Scope) -> list[Actual]:
    """The owned load balancers (one describe and batched tags), then their listeners."""
    out: list[Actual] = []
    for balancer in load_balancer.read(clients, scope):
        pages = clients.elbv2.get_paginator("describe_listeners").paginate(
            LoadBalancerArn=balancer.id)
        raws = sorted((x for page in pages for x in page["Listeners"]),
                      key=lambda x: (x["Port"], x["ListenerArn"]))
        seen: set[int] = set()
        for raw in raws:
            key = _key(raw, raw["Port"] in seen)
            seen.add(raw["Port"])
            out.append(parse(raw, balancer, scope, key))
    return out


def _key(raw: Mapping[str, Any], duplicate: bool) -> str:
    """'' for the model's listener; a key of its own for extras (and moto's twins)."""
    if duplicate:
        return f"port-{raw['Port']}-{str(raw['ListenerArn']).rsplit('/', 1)[-1]}"
    return "" if raw["Port"] == MAIN_PORT else f"port-{raw['Port']}"


def _forward_target(raw: Mapping[str, Any]) -> str | None:
    for action in raw.get("DefaultActions", []):
        if action.get("Type") == "forward" and action.get("TargetGroupArn"):
            return str(action["TargetGroupArn"])
    return None


def parse(raw: Mapping[str, Any], balancer: Actual, scope: Scope, key: str = "") -> Actual:
    target = _forward_target(raw)
    protocol = str(raw.get("Protocol", ""))
    return Actual(KIND, balancer.role, raw["ListenerArn"],
                  f"{scope.name(balancer.role)}-{protocol.lower()}", dict(balancer.tags), {
                      "port": raw.get("Port"), "protocol": protocol,
                      "target_group": address_for(scope, target) if target else None,
                      "target_group_arn": target,
                      "load_balancer": f"{load_balancer.KIND}.{balancer.role}",
                      "load_balancer_arn": balancer.id}, key=key)


def diff(want: Resource, have: Actual) -> Change:
    changed = [k for k in ("port", "protocol") if want.spec[k] != have.attrs.get(k)]
    if want.spec["target_group"] not in (have.attrs.get("target_group"),
                                         have.attrs.get("target_group_arn")):
        changed.append("target_group")
    if changed:
        return Change.update(want, have, f"{', '.join(changed)} changed", tuple(changed))
    return Change.noop(want, have, "listener forwards to the wanted target group")


def default_actions(target_group_arn: str) -> list[dict[str, Any]]:
    return [{"Type": "forward", "TargetGroupArn": target_group_arn}]


def create_request(want: Resource, scope: Scope, balancer_arn: str,
                   target_group_arn: str) -> dict[str, Any]:
    return {"LoadBalancerArn": balancer_arn, "Protocol": want.spec["protocol"],
            "Port": want.spec["port"], "DefaultActions": default_actions(target_group_arn),
            "Tags": tag_list(scope.tags(want.role))}


def apply(ctx: Context, change: Change) -> str:
    want = change.after
    assert want is not None
    balancer_arn = ctx.outputs.id(str(want.spec["load_balancer"]))
    target_arn = ctx.outputs.id(str(want.spec["target_group"]))
    elbv2 = ctx.clients.elbv2
    if change.action is Action.UPDATE and change.before is not None:
        arn = change.before.id
    else:
        if change.before is not None:  # replace
            delete(ctx, change.before)
        listeners = elbv2.describe_listeners(LoadBalancerArn=balancer_arn)["Listeners"]
        same_port = [x for x in listeners if x["Port"] == want.spec["port"]]
        if not same_port:
            made = elbv2.create_listener(
                **create_request(want, ctx.scope, balancer_arn, target_arn))
            return str(made["Listeners"][0]["ListenerArn"])
        arn = str(same_port[0]["ListenerArn"])  # made by an interrupted run: adopt it
        ctx.progress(change.address, "adopting the existing listener")
        if (same_port[0].get("Protocol") == want.spec["protocol"]
                and _forward_target(same_port[0]) == target_arn):
            return arn
    elbv2.modify_listener(ListenerArn=arn, Port=want.spec["port"],
                          Protocol=want.spec["protocol"],
                          DefaultActions=default_actions(target_arn))
    return arn


def delete(ctx: Context, have: Actual) -> None:
    """Gone (or its load balancer gone) counts as done."""
    with tolerate("ListenerNotFound"):
        ctx.clients.elbv2.delete_listener(ListenerArn=have.id)
