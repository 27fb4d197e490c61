"""Auto Scaling groups: the app and worker fleets, launched from their templates.

Sizes, subnets, template and target groups can all change in place, so a
change is always an update. moto silently replaces a group created with an
existing name (orphaning its instances): create looks by name first and adopts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import tolerate
from argos_cloud.errors import Refused
from argos_cloud.kinds import target_group
from argos_cloud.kinds.base import Context, Declared, Teardown, same_address
from argos_cloud.model.desired import GROUP_ROLES
from argos_cloud.model.names import TAG_ROLE, Scope
from argos_cloud.plan.cost import Priced
from argos_cloud.plan.details import Shown
from argos_cloud.plan.references import Reference
from argos_cloud.plan.types import Action, Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "auto_scaling_group"
TEMPLATE_VERSION = "$Default"  # a new template version reaches new instances by itself
GRACE_PERIOD = 300
SIZES = ("min_size", "max_size", "desired")
DECLARED = Declared(
    references=(Reference("launch_template", "launch_template_id"),
                Reference("target_group", "target_group_arns")),
    shown=(Shown("min_size", "min_size"), Shown("max_size", "max_size"),
           Shown("desired", "desired")),
    priced=Priced(group=True),
    teardown=Teardown(after=("scaling_policy",)),
)
match = same_address


def read(clients: Clients, scope: Scope) -> list[Actual]:
    """One paginated describe, filtered by the scope's tags on the server."""
    pages = clients.autoscaling.get_paginator("describe_auto_scaling_groups").paginate(
        Filters=scope.tag_filters())
    raws = [g for page in pages for g in page["AutoScalingGroups"]]
    return [parse(g, scope) for g in raws if scope.owns(_tags(g))]


def _tags(raw: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in raw.get("Tags", [])}


def _template_address(scope: Scope, name: str | None) -> str | None:
    roles = [r for r in GROUP_ROLES if scope.name(r) == name]
    return f"launch_template.{roles[0]}" if roles else name


def parse(raw: Mapping[str, Any], scope: Scope) -> Actual:
    tags = _tags(raw)
    template = raw.get("LaunchTemplate", {})
    instances = [{"id": i["InstanceId"], "lifecycle": i.get("LifecycleState"),
                  "health": i.get("HealthStatus")} for i in raw.get("Instances", [])]
    arns = sorted(raw.get("TargetGroupARNs", []))
    zone_ids = raw.get("VPCZoneIdentifier") or ""
    return Actual(KIND, tags.get(TAG_ROLE, ""), raw["AutoScalingGroupName"],
                  raw["AutoScalingGroupName"], tags, {
                      "min_size": raw.get("MinSize"), "max_size": raw.get("MaxSize"),
                      "desired": raw.get("DesiredCapacity"),
                      "launch_template": _template_address(
                          scope, template.get("LaunchTemplateName")),
                      "launch_template_id": template.get("LaunchTemplateId"),
                      "launch_template_version": template.get("Version"),
                      "target_group_arns": arns,
                      "target_groups": sorted(target_group.address_for(scope, a) for a in arns),
                      "subnets": sorted(s for s in zone_ids.split(",") if s),
                      "health_check_type": raw.get("HealthCheckType"),
                      "instances": instances,
                      "in_service": sum(1 for i in instances if i["lifecycle"] == "InService"),
                  })


def diff(want: Resource, have: Actual) -> Change:
    spec, attrs = want.spec, have.attrs
    changed = [k for k in SIZES if spec[k] != attrs.get(k)]
    if spec["launch_template"] not in (attrs.get("launch_template"),
                                       attrs.get("launch_template_id")):
        changed.append("launch_template")
    elif attrs.get("launch_template_version") != TEMPLATE_VERSION:
        changed.append("launch_template_version")
    wanted = [spec["target_group"]] if spec.get("target_group") else []
    if not (wanted == attrs.get("target_groups") or wanted == attrs.get("target_group_arns")):
        changed.append("target_group")
    if sorted(spec["subnets"]) != attrs.get("subnets"):
        changed.append("subnets")
    if spec["health_check_type"] != attrs.get("health_check_type"):
        changed.append("health_check_type")
    if changed:
        return Change.update(want, have, f"{', '.join(changed)} changed", tuple(changed))
    return Change.noop(want, have, "group exists with the wanted sizes and template")


def create_request(want: Resource, scope: Scope, template_id: str,
                   target_group_arns: list[str]) -> dict[str, Any]:
    spec = want.spec
    request: dict[str, Any] = {
        "AutoScalingGroupName": want.name,
        "LaunchTemplate": {"LaunchTemplateId": template_id, "Version": TEMPLATE_VERSION},
        "MinSize": spec["min_size"], "MaxSize": spec["max_size"],
        "DesiredCapacity": spec["desired"],
        "VPCZoneIdentifier": ",".join(spec["subnets"]),
        "HealthCheckType": spec["health_check_type"],
        "HealthCheckGracePeriod": GRACE_PERIOD,
        "NewInstancesProtectedFromScaleIn": False,
        "Tags": group_tags(want.name, scope.tags(want.role)),
    }
    if target_group_arns:
        request["TargetGroupARNs"] = target_group_arns
    return request


def group_tags(name: str, tags: Mapping[str, str]) -> list[dict[str, Any]]:
    """The group's tags, propagated to every instance it launches."""
    return [{"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": k, "Value": v,
             "PropagateAtLaunch": True} for k, v in sorted(tags.items())]


def update_request(want: Resource, template_id: str) -> dict[str, Any]:
    spec = want.spec
    return {"AutoScalingGroupName": want.name,
            "LaunchTemplate": {"LaunchTemplateId": template_id, "Version": TEMPLATE_VERSION},
            "MinSize": spec["min_size"], "MaxSize": spec["max_size"],
            "DesiredCapacity": spec["desired"],
            "VPCZoneIdentifier": ",".join(spec["subnets"]),
            "HealthCheckType": spec["health_check_type"],
            "HealthCheckGracePeriod": GRACE_PERIOD}


def describe_group(clients: Clients, name: str) -> dict[str, Any] | None:
    groups = clients.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return dict(groups[0]) if groups else None


def apply(ctx: Context, change: Change) -> str:
    want = change.after
    assert want is not None
    template_id = ctx.outputs.id(str(want.spec["launch_template"]))
    arns = ([ctx.outputs.id(str(want.spec["target_group"]))]
            if want.spec.get("target_group") else [])
    if change.action is Action.UPDATE and change.before is not None:
        _update(ctx, want, template_id, arns, change.before.attrs.get("target_group_arns", []))
    else:
        if change.before is not None:  # replace
            delete(ctx, change.before)
        _create(ctx, want, template_id, arns)
    ctx.progress(change.address, f"waiting for {want.spec['desired']} instances in service")
    wait_in_service(ctx, want.name, int(want.spec["desired"]))
    return want.name


def _create(ctx: Context, want: Resource, template_id: str, arns: list[str]) -> None:
    existing = describe_group(ctx.clients, want.name)  # moto would silently replace it
    if existing is None:
        with tolerate("AlreadyExists"):
            ctx.clients.autoscaling.create_auto_scaling_group(
                **create_request(want, ctx.scope, template_id, arns))
            return
        existing = describe_group(ctx.clients, want.name)
        assert existing is not None
    if not ctx.scope.owns(_tags(existing)):
        raise Refused(f"Auto Scaling group {want.name} exists and is not this environment's")
    ctx.progress(want.address, "adopting the existing group")
    _update(ctx, want, template_id, arns, existing.get("TargetGroupARNs", []))


def _update(ctx: Context, want: Resource, template_id: str, arns: list[str],
            attached: list[str]) -> None:
    autoscaling = ctx.clients.autoscaling
    autoscaling.update_auto_scaling_group(**update_request(want, template_id))
    attach = sorted(set(arns) - set(attached))
    detach = sorted(set(attached) - set(arns))
    if attach:
        autoscaling.attach_load_balancer_target_groups(
            AutoScalingGroupName=want.name, TargetGroupARNs=attach)
    if detach:
        autoscaling.detach_load_balancer_target_groups(
            AutoScalingGroupName=want.name, TargetGroupARNs=detach)


def wait_in_service(ctx: Context, name: str, desired: int) -> None:
    from argos_cloud.waiting import wait_for

    def healthy(group: dict[str, Any] | None) -> bool:
        return group is not None and sum(
            1 for i in group.get("Instances", [])
            if i.get("LifecycleState") == "InService" and i.get("HealthStatus") == "Healthy"
        ) >= desired

    wait_for(lambda: describe_group(ctx.clients, name), healthy, clock=ctx.clock,
             timeout=ctx.timeout, what=f"{desired} instances in service in {name}",
             failed=lambda g: "the group is gone" if g is None else None)


def in_service_instances(clients: Clients, scope: Scope, role: str) -> list[dict[str, Any]]:
    """The group's InService instances with their private IPs (for deploy batches)."""
    group = describe_group(clients, scope.name(role))
    if group is None:
        return []
    members = {i["InstanceId"]: i for i in group.get("Instances", [])
               if i.get("LifecycleState") == "InService"}
    if not members:
        return []
    pages = clients.ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-id", "Values": sorted(members)}])
    found = {i["InstanceId"]: i for page in pages for r in page["Reservations"]
             for i in r["Instances"]}
    return [{"id": iid, "private_ip": found.get(iid, {}).get("PrivateIpAddress"),
             "image_id": found.get(iid, {}).get("ImageId"),
             "lifecycle": m.get("LifecycleState"), "health": m.get("HealthStatus")}
            for iid, m in sorted(members.items())]


def resize(clients: Clients, name: str, min_size: int, max_size: int, desired: int) -> None:
    """Set a group's range and desired capacity at once (`scale`); the group does the rest."""
    clients.autoscaling.update_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=min_size, MaxSize=max_size,
        DesiredCapacity=desired)


class GroupOps:
    """What an image roll does to one group, on AWS (the roll itself is in workflows/roll.py).

    moto has no Instance Refresh, so the roll is made of plain calls that it does have.
    """

    def __init__(self, clients: Clients, scope: Scope, role: str) -> None:
        self.clients, self.scope, self.role = clients, scope, role
        self.name = scope.name(role)

    def sizes(self) -> tuple[int, int, int]:
        """(min, max, desired) now."""
        group = describe_group(self.clients, self.name)
        if group is None:
            raise Refused(f"Auto Scaling group {self.name} is gone")
        return int(group["MinSize"]), int(group["MaxSize"]), int(group["DesiredCapacity"])

    def members(self) -> list[dict[str, Any]]:
        """In-service members with their image id and group health."""
        return in_service_instances(self.clients, self.scope, self.role)

    def set_capacity(self, desired: int, max_size: int) -> None:
        self.clients.autoscaling.update_auto_scaling_group(
            AutoScalingGroupName=self.name, MaxSize=max_size, DesiredCapacity=desired)

    def terminate(self, instance_id: str) -> None:
        """Take one member out for good, shrinking the group by one (gone counts as done)."""
        # Auto Scaling answers ValidationError when the instance is not in a group (any more).
        with tolerate("ValidationError"):
            self.clients.autoscaling.terminate_instance_in_auto_scaling_group(
                InstanceId=instance_id, ShouldDecrementDesiredCapacity=True)

    def target_health(self) -> dict[str, str]:
        """Instance id → load balancer health, merged over the group's target groups."""
        group = describe_group(self.clients, self.name) or {}
        merged: dict[str, str] = {}
        for arn in group.get("TargetGroupARNs", []):
            for iid, state in target_group.target_health(self.clients, arn).items():
                if merged.get(iid, "healthy") == "healthy":
                    merged[iid] = state
        return merged

    def uses_load_balancer(self) -> bool:
        return bool((describe_group(self.clients, self.name) or {}).get("TargetGroupARNs"))


def delete(ctx: Context, have: Actual) -> None:
    """ForceDelete, then wait until the group and its instances are gone.

    Decommission deletes security groups next: they stay in use until then.
    """
    from argos_cloud.aws.retry import retry_on
    from argos_cloud.waiting import wait_for

    group = describe_group(ctx.clients, have.id)
    ids = {str(i["id"]) for i in have.attrs.get("instances", [])}
    if group is not None:
        ids |= {i["InstanceId"] for i in group.get("Instances", [])}

    def attempt() -> None:
        # Auto Scaling answers ValidationError "AutoScalingGroup name not found" when gone.
        with tolerate("ValidationError"):
            ctx.clients.autoscaling.delete_auto_scaling_group(
                AutoScalingGroupName=have.id, ForceDelete=True)

    if group is not None:
        retry_on({"ScalingActivityInProgress", "ResourceInUse"}, attempt, clock=ctx.clock,
                 attempts=10, what=f"delete Auto Scaling group {have.id}")
    ctx.progress(have.address, "waiting for the group and its instances to go")
    wait_for(lambda: describe_group(ctx.clients, have.id), lambda g: g is None,
             clock=ctx.clock, timeout=ctx.timeout, what=f"group {have.id} deleted")
    if ids:
        wait_for(lambda: _live(ctx.clients, sorted(ids)), lambda live: not live,
                 clock=ctx.clock, timeout=ctx.timeout,
                 what=f"instances of {have.id} terminated")


def _live(clients: Clients, ids: list[str]) -> list[str]:
    """Which of `ids` are not terminated yet (a filter: vanished ones are no error)."""
    pages = clients.ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-id", "Values": ids}])
    return [i["InstanceId"] for page in pages for r in page["Reservations"]
            for i in r["Instances"] if i["State"]["Name"] != "terminated"]
