"""Security groups: one per role, least privilege; rules reference groups by role."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import tolerate
from argos_cloud.kinds.base import Context, Declared, Teardown, same_address
from argos_cloud.model.names import TAG_ROLE, Scope, tag_dict, tag_specifications
from argos_cloud.plan.details import Shown
from argos_cloud.plan.types import Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "security_group"
REPLACE_ON = ("vpc_id", "description")  # EC2 cannot change these
DECLARED = Declared(
    # no references: ingress sources (`sg:<role>`) are compared by diff
    shown=(Shown("ingress", "ingress", rules=True),),
    teardown=Teardown(unlink_after=("auto_scaling_group", "load_balancer", "listener",
                                    "instance"),  # groups name each other
                      unlink=lambda ctx, have: revoke_references(ctx, have)),
)
match = same_address


def read(clients: Clients, scope: Scope) -> list[Actual]:
    """One paginated, tag-filtered describe; sources spelled as roles where known."""
    pages = clients.ec2.get_paginator("describe_security_groups").paginate(
        Filters=scope.tag_filters())
    raws = [g for page in pages for g in page["SecurityGroups"]]
    roles = {g["GroupId"]: tag_dict(g.get("Tags")).get(TAG_ROLE, "") for g in raws}
    return [parse(g, roles) for g in raws if scope.owns(tag_dict(g.get("Tags")))]


def parse(raw: Mapping[str, Any], roles: Mapping[str, str]) -> Actual:
    tags = tag_dict(raw.get("Tags"))
    rules: list[dict[str, object]] = []
    for perm in raw.get("IpPermissions", []):
        base = {"protocol": perm.get("IpProtocol"), "from": perm.get("FromPort"),
                "to": perm.get("ToPort")}
        for pair in perm.get("UserIdGroupPairs", []):
            gid = pair["GroupId"]
            source = f"sg:{roles[gid]}" if roles.get(gid) else f"sgid:{gid}"
            rules.append({**base, "source": source})
        rules += [{**base, "source": f"cidr:{r['CidrIp']}"} for r in perm.get("IpRanges", [])]
        rules += [{**base, "source": f"cidr6:{r['CidrIpv6']}"}
                  for r in perm.get("Ipv6Ranges", [])]
    return Actual(KIND, tags.get(TAG_ROLE, ""), raw["GroupId"], raw.get("GroupName", ""),
                  tags, {"vpc_id": raw.get("VpcId"), "description": raw.get("Description"),
                         "ingress": _sorted(rules)})


def _sorted(rules: list[dict[str, object]]) -> list[dict[str, object]]:
    return sorted(rules, key=lambda r: (str(r["source"]), int(str(r["from"])),
                                        int(str(r["to"])), str(r["protocol"])))


def _key(rule: Mapping[str, object]) -> tuple[str, int, int, str]:
    return (str(rule["protocol"]), int(str(rule["from"])), int(str(rule["to"])),
            str(rule["source"]))


def diff(want: Resource, have: Actual) -> Change:
    changed = tuple(k for k in REPLACE_ON if want.spec[k] != have.attrs.get(k))
    if changed:
        return Change.replace(want, have, f"{' and '.join(changed)} changed", changed)
    wanted = {_key(r) for r in want.spec["ingress"]}
    actual = {_key(r) for r in have.attrs.get("ingress", [])}
    if wanted != actual:
        extra, missing = len(actual - wanted), len(wanted - actual)
        return Change.update(want, have, f"ingress rules differ ({missing} to add, "
                             f"{extra} to revoke)", ("ingress",))
    return Change.noop(want, have, "group exists and its rules match")


def create_request(want: Resource, scope: Scope) -> dict[str, Any]:
    return {"GroupName": want.name, "Description": want.spec["description"],
            "VpcId": want.spec["vpc_id"],
            "TagSpecifications": tag_specifications(scope.tags(want.role), "security-group")}


def permission(rule: Mapping[str, object], group_ids: Mapping[str, str]) -> dict[str, Any]:
    """One rule in EC2's IpPermissions spelling; `sg:<role>` resolved to its group id."""
    perm: dict[str, Any] = {"IpProtocol": rule["protocol"], "FromPort": rule["from"],
                            "ToPort": rule["to"]}
    kind, _, value = str(rule["source"]).partition(":")
    if kind == "sg":
        perm["UserIdGroupPairs"] = [{"GroupId": group_ids[value]}]
    elif kind == "sgid":
        perm["UserIdGroupPairs"] = [{"GroupId": value}]
    elif kind == "cidr":
        perm["IpRanges"] = [{"CidrIp": value}]
    else:
        perm["Ipv6Ranges"] = [{"CidrIpv6": value}]
    return perm


def _group_ids(ctx: Context, rules: list[Mapping[str, object]]) -> dict[str, str]:
    roles = {str(r["source"])[3:] for r in rules if str(r["source"]).startswith("sg:")}
    return {role: ctx.outputs.id(f"security_group.{role}") for role in roles}


def apply(ctx: Context, change: Change) -> str:
    want = change.after
    assert want is not None
    ec2 = ctx.clients.ec2
    if change.before is not None and change.action.value == "update":
        group_id = change.before.id
        have = {_key(r): r for r in change.before.attrs.get("ingress", [])}
    else:
        if change.before is not None:  # replace: the old group goes first
            delete(ctx, change.before)
        group_id = _create(ctx, want)
        have = {}
    wanted = {_key(r): r for r in want.spec["ingress"]}
    add = [wanted[k] for k in sorted(wanted.keys() - have.keys())]
    revoke = [have[k] for k in sorted(have.keys() - wanted.keys())]
    ids = _group_ids(ctx, add) | {}
    if add:
        with tolerate("InvalidPermission.Duplicate"):
            ec2.authorize_security_group_ingress(
                GroupId=group_id, IpPermissions=[permission(r, ids) for r in add])
    if revoke:
        ec2.revoke_security_group_ingress(
            GroupId=group_id, IpPermissions=[permission(r, _group_ids(ctx, revoke))
                                             for r in revoke])
    return group_id


def _create(ctx: Context, want: Resource) -> str:
    ec2 = ctx.clients.ec2
    with tolerate("InvalidGroup.Duplicate"):
        return str(ec2.create_security_group(**create_request(want, ctx.scope))["GroupId"])
    # Made by an interrupted run whose answer was lost: find it by name and tag it.
    found = ec2.describe_security_groups(Filters=[
        {"Name": "group-name", "Values": [want.name]},
        {"Name": "vpc-id", "Values": [want.spec["vpc_id"]]}])["SecurityGroups"]
    group_id = str(found[0]["GroupId"])
    ec2.create_tags(Resources=[group_id], Tags=tag_specifications(
        ctx.scope.tags(want.role), "security-group")[0]["Tags"])
    return group_id


def revoke_references(ctx: Context, have: Actual) -> None:
    """Revoke every rule of `have` that names another group (before groups are deleted)."""
    rules = [r for r in have.attrs.get("ingress", []) if str(r["source"]).startswith("sg")]
    if not rules:
        return
    perms = []
    for r in rules:
        kind, _, value = str(r["source"]).partition(":")
        gid = value if kind == "sgid" else ctx.outputs.get(f"security_group.{value}")
        if gid:
            perms.append(permission({**r, "source": f"sgid:{gid}"}, {}))
    with tolerate("InvalidGroup.NotFound", "InvalidPermission.NotFound"):
        if perms:
            ctx.clients.ec2.revoke_security_group_ingress(GroupId=have.id, IpPermissions=perms)


def delete(ctx: Context, have: Actual) -> None:
    """Delete the group; DependencyViolation (lingering ENIs) is retried with backoff."""
    from argos_cloud.aws.retry import retry_on

    def attempt() -> None:
        with tolerate("InvalidGroup.NotFound"):
            ctx.clients.ec2.delete_security_group(GroupId=have.id)

    retry_on({"DependencyViolation"}, attempt, clock=ctx.clock, attempts=12,
             what=f"delete security group {have.name}")
