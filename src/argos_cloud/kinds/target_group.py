"""Target groups: the app pool behind the load balancer, and its health gate."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import tolerate
from argos_cloud.errors import Refused
from argos_cloud.kinds.base import Context, Declared, Teardown, same_address
from argos_cloud.model.desired import GROUP_ROLES
from argos_cloud.model.names import TAG_ROLE, Scope, tag_dict, tag_list
from argos_cloud.plan.details import Shown
from argos_cloud.plan.types import Action, Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "target_group"
REPLACE_ON = ("port", "protocol", "vpc_id")  # ELBv2 cannot change these
NAME_LIMIT = 32
TAG_BATCH = 20  # elbv2 describe_tags takes at most 20 ARNs
DECLARED = Declared(
    shown=(Shown("port", "port"), Shown("protocol", "protocol"),
           Shown("health_path", "health_path")),
    teardown=Teardown(after=("listener", "load_balancer", "auto_scaling_group")),
)
match = same_address


def name_prefix(scope: Scope) -> str:
    """Every name of this scope starts so (names are cut at 32 characters)."""
    return scope.name("")[:NAME_LIMIT]


def owned_tags(clients: Clients, scope: Scope, arns: list[str]) -> dict[str, dict[str, str]]:
    """ARN → tags for the ARNs this scope owns, fetched 20 ARNs a call (any ELBv2 kind)."""
    out: dict[str, dict[str, str]] = {}
    for batch in _batches(arns, TAG_BATCH):
        for d in clients.elbv2.describe_tags(ResourceArns=batch)["TagDescriptions"]:
            tags = tag_dict(d.get("Tags"))
            if scope.owns(tags):
                out[d["ResourceArn"]] = tags
    return out


def owned(clients: Clients, scope: Scope, operation: str,
          noun: str) -> list[tuple[Mapping[str, Any], dict[str, str]]]:
    """This scope's `noun`s (any ELBv2 kind: `TargetGroup`, `LoadBalancer`) with their tags:
    one paginated list (ELBv2 cannot filter by tag), cut by name prefix; tags batched."""
    prefix = name_prefix(scope)
    pages = clients.elbv2.get_paginator(operation).paginate()
    raws = [r for page in pages for r in page[f"{noun}s"] if r[f"{noun}Name"].startswith(prefix)]
    tags = owned_tags(clients, scope, [r[f"{noun}Arn"] for r in raws])
    return [(r, tags[r[f"{noun}Arn"]]) for r in raws if r[f"{noun}Arn"] in tags]


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def read(clients: Clients, scope: Scope) -> list[Actual]:
    return [parse(g, tags) for g, tags in owned(clients, scope, "describe_target_groups",
                                                "TargetGroup")]


def parse(raw: Mapping[str, Any], tags: Mapping[str, str]) -> Actual:
    return Actual(KIND, tags.get(TAG_ROLE, ""), raw["TargetGroupArn"], raw["TargetGroupName"],
                  dict(tags), {"port": raw.get("Port"), "protocol": raw.get("Protocol"),
                               "vpc_id": raw.get("VpcId"),
                               "health_path": raw.get("HealthCheckPath"),
                               "arn": raw["TargetGroupArn"]})


def address_for(scope: Scope, arn: str) -> str:
    """`target_group.<role>` for one of this scope's target groups, else the ARN itself."""
    name = arn.split(":")[-1].split("/")[1] if "/" in arn else arn
    roles = [r for r in GROUP_ROLES if scope.name(r)[:NAME_LIMIT] == name]
    return f"{KIND}.{roles[0]}" if roles else arn


def diff(want: Resource, have: Actual) -> Change:
    changed = tuple(k for k in REPLACE_ON if want.spec[k] != have.attrs.get(k))
    if changed:
        return Change.replace(want, have, f"{' and '.join(changed)} changed", changed)
    if want.spec["health_path"] != have.attrs.get("health_path"):
        return Change.update(want, have, "health check path changed", ("health_path",))
    return Change.noop(want, have, "target group exists with the wanted port and health check")


def create_request(want: Resource, scope: Scope) -> dict[str, Any]:
    spec = want.spec
    return {"Name": want.name, "Protocol": spec["protocol"], "Port": spec["port"],
            "VpcId": spec["vpc_id"], "HealthCheckProtocol": "HTTP",
            "HealthCheckPath": spec["health_path"], "Matcher": {"HttpCode": "200-399"},
            # 2 checks 10 s apart: a deploy's health gate waits ~20 s, not AWS's default 150 s.
            "HealthCheckIntervalSeconds": 10, "HealthCheckTimeoutSeconds": 5,
            "HealthyThresholdCount": 2, "UnhealthyThresholdCount": 2,
            "TargetType": "instance", "Tags": tag_list(scope.tags(want.role))}


def apply(ctx: Context, change: Change) -> str:
    want = change.after
    assert want is not None
    if change.action is Action.UPDATE and change.before is not None:
        ctx.clients.elbv2.modify_target_group(TargetGroupArn=change.before.id,
                                              HealthCheckPath=want.spec["health_path"])
        return change.before.id
    if change.before is not None:  # replace: the name is taken until the old one goes
        delete(ctx, change.before)
    return _create(ctx, want)


def _create(ctx: Context, want: Resource) -> str:
    elbv2 = ctx.clients.elbv2
    with tolerate("DuplicateTargetGroupName"):
        return str(elbv2.create_target_group(**create_request(want, ctx.scope))
                   ["TargetGroups"][0]["TargetGroupArn"])
    # Made by an interrupted run (AWS returns it; moto refuses): adopt it if it is ours.
    found = elbv2.describe_target_groups(Names=[want.name])["TargetGroups"][0]
    arn = str(found["TargetGroupArn"])
    if arn not in owned_tags(ctx.clients, ctx.scope, [arn]):
        raise Refused(f"target group {want.name} exists and is not this environment's")
    return arn


def target_health(clients: Clients, arn: str) -> dict[str, str]:
    """Instance id → health state (healthy, unhealthy, initial, draining…), for deploy."""
    reply = clients.elbv2.describe_target_health(TargetGroupArn=arn)
    return {d["Target"]["Id"]: d.get("TargetHealth", {}).get("State", "unknown")
            for d in reply["TargetHealthDescriptions"]}


def deregister(clients: Clients, arn: str, instance_ids: list[str]) -> None:
    """Out of rotation: the group drains them (no new request, in-flight ones finish)."""
    clients.elbv2.deregister_targets(TargetGroupArn=arn,
                                     Targets=[{"Id": i} for i in instance_ids])


def register(clients: Clients, arn: str, instance_ids: list[str]) -> None:
    """Back into rotation on the group's own port; they serve once its checks pass."""
    clients.elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": i} for i in instance_ids])


def deregistration_delay(clients: Clients, arn: str) -> float:
    """The longest a deregistered target drains (AWS's default is 300 s)."""
    reply = clients.elbv2.describe_target_group_attributes(TargetGroupArn=arn)
    found = {a["Key"]: a["Value"] for a in reply.get("Attributes", [])}
    return float(found.get("deregistration_delay.timeout_seconds", 300))


def delete(ctx: Context, have: Actual) -> None:
    """Gone counts as done; ResourceInUse (a listener not yet gone) is retried."""
    from argos_cloud.aws.retry import retry_on

    def attempt() -> None:
        with tolerate("TargetGroupNotFound"):
            ctx.clients.elbv2.delete_target_group(TargetGroupArn=have.id)

    retry_on({"ResourceInUse"}, attempt, clock=ctx.clock, attempts=8,
             what=f"delete target group {have.name}")
