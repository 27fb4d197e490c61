"""Target-tracking CPU policies of the app and worker groups.

Policies carry no tags: they are read through the environment's own groups.
`put_scaling_policy` is an upsert, so create and update are the same call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import tolerate
from argos_cloud.kinds import auto_scaling_group
from argos_cloud.kinds.base import Context, Declared, same_address
from argos_cloud.model.names import Scope
from argos_cloud.plan.details import Shown
from argos_cloud.plan.references import Reference
from argos_cloud.plan.types import Action, Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "scaling_policy"
POLICY_TYPE = "TargetTrackingScaling"
METRIC = "ASGAverageCPUUtilization"
DECLARED = Declared(
    references=(Reference("auto_scaling_group", "group_name", Action.REPLACE),),
    shown=(Shown("cpu_target", "cpu_target"),),
)
match = same_address


def read(clients: Clients, scope: Scope) -> list[Actual]:
    """The owned groups (one describe), then one paginated describe_policies per group.

    moto keeps a deleted group's policies: reading through live groups skips them.
    """
    out: list[Actual] = []
    for group in auto_scaling_group.read(clients, scope):
        pages = clients.autoscaling.get_paginator("describe_policies").paginate(
            AutoScalingGroupName=group.id)
        for raw in (p for page in pages for p in page["ScalingPolicies"]):
            out.append(parse(raw, group, scope))
    return out


def parse(raw: Mapping[str, Any], group: Actual, scope: Scope) -> Actual:
    tracking = raw.get("TargetTrackingConfiguration") or {}
    metric = (tracking.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
    name = str(raw["PolicyName"])
    key = "" if name == scope.name(f"{group.role}-cpu") else name  # extras get a key
    return Actual(KIND, group.role, name, name, dict(group.tags), {
        "auto_scaling_group": f"{auto_scaling_group.KIND}.{group.role}",
        "group_name": group.id, "policy_type": raw.get("PolicyType"), "metric": metric,
        "cpu_target": tracking.get("TargetValue"), "arn": raw.get("PolicyARN")}, key=key)


def diff(want: Resource, have: Actual) -> Change:
    if want.spec["auto_scaling_group"] not in (have.attrs.get("auto_scaling_group"),
                                               have.attrs.get("group_name")):
        return Change.replace(want, have, "policy belongs to another group",
                              ("auto_scaling_group",))
    changed = []
    if (have.attrs.get("policy_type"), have.attrs.get("metric")) != (POLICY_TYPE, METRIC):
        changed.append("policy_type")
    if have.attrs.get("cpu_target") is None or \
            float(want.spec["cpu_target"]) != float(have.attrs["cpu_target"]):
        changed.append("cpu_target")
    if changed:
        return Change.update(want, have, f"{', '.join(changed)} changed", tuple(changed))
    return Change.noop(want, have, f"tracks {want.spec['cpu_target']:g}% CPU already")


def put_request(want: Resource, group_name: str) -> dict[str, Any]:
    return {"AutoScalingGroupName": group_name, "PolicyName": want.name,
            "PolicyType": POLICY_TYPE, "TargetTrackingConfiguration": {
                "PredefinedMetricSpecification": {"PredefinedMetricType": METRIC},
                "TargetValue": float(want.spec["cpu_target"])}}


def apply(ctx: Context, change: Change) -> str:
    """Create, update and replace are one upsert (a replace drops the old policy first)."""
    want = change.after
    assert want is not None
    if change.before is not None and change.before.attrs.get("group_name") != \
            ctx.outputs.id(str(want.spec["auto_scaling_group"])):
        delete(ctx, change.before)
    group_name = ctx.outputs.id(str(want.spec["auto_scaling_group"]))
    ctx.clients.autoscaling.put_scaling_policy(**put_request(want, group_name))
    return want.name


def delete(ctx: Context, have: Actual) -> None:
    """Gone, or its group gone, counts as done (AWS deletes policies with the group)."""
    # Auto Scaling answers ValidationError when the policy or its group is not found.
    with tolerate("ValidationError"):
        ctx.clients.autoscaling.delete_policy(
            AutoScalingGroupName=str(have.attrs.get("group_name", "")), PolicyName=have.id)
