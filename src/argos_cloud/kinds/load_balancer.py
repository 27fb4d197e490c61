"""The application load balancer in front of the app group.

moto accepts a second ALB of the same name (AWS returns the first or refuses),
so create looks by name first and adopts what this environment owns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import tolerate
from argos_cloud.aws.retry import made_once
from argos_cloud.errors import Refused
from argos_cloud.kinds.base import Context, Declared, Teardown, same_address
from argos_cloud.kinds.target_group import owned, owned_tags
from argos_cloud.model.names import TAG_ROLE, Scope, tag_list
from argos_cloud.plan.cost import ALB_HOURLY_USD, Priced
from argos_cloud.plan.details import Shown
from argos_cloud.plan.references import Reference
from argos_cloud.plan.types import Action, Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "load_balancer"
REPLACE_ON = ("scheme",)  # ELBv2 cannot change it
DECLARED = Declared(
    references=(Reference("security_group", "security_groups"),),
    shown=(Shown("scheme", "scheme"),),
    priced=Priced(hourly=ALB_HOURLY_USD),
    teardown=Teardown(after=("listener",)),
)
match = same_address


def read(clients: Clients, scope: Scope) -> list[Actual]:
    return [parse(b, tags) for b, tags in owned(clients, scope, "describe_load_balancers",
                                                "LoadBalancer")]


def parse(raw: Mapping[str, Any], tags: Mapping[str, str]) -> Actual:
    return Actual(KIND, tags.get(TAG_ROLE, ""), raw["LoadBalancerArn"],
                  raw["LoadBalancerName"], dict(tags), {
                      "dns_name": raw.get("DNSName"),
                      "state": raw.get("State", {}).get("Code"),
                      "security_groups": sorted(raw.get("SecurityGroups", [])),
                      "subnets": sorted(z["SubnetId"] for z in raw.get("AvailabilityZones", [])),
                      "scheme": raw.get("Scheme"), "arn": raw["LoadBalancerArn"]})


def diff(want: Resource, have: Actual) -> Change:
    changed = tuple(k for k in REPLACE_ON if want.spec[k] != have.attrs.get(k))
    if changed:
        return Change.replace(want, have, f"{' and '.join(changed)} changed", changed)
    # its security group is a reference: the planner compares it by id
    if sorted(want.spec["subnets"]) != have.attrs.get("subnets"):
        return Change.update(want, have, "subnets changed", ("subnets",))
    return Change.noop(want, have, "load balancer exists with the wanted scheme and subnets")


def create_request(want: Resource, scope: Scope, security_group: str) -> dict[str, Any]:
    return {"Name": want.name, "Subnets": list(want.spec["subnets"]),
            "SecurityGroups": [security_group], "Scheme": want.spec["scheme"],
            "Type": "application", "IpAddressType": "ipv4",
            "Tags": tag_list(scope.tags(want.role))}


def describe_by_name(clients: Clients, name: str) -> list[dict[str, Any]]:
    with tolerate("LoadBalancerNotFound"):
        return list(clients.elbv2.describe_load_balancers(Names=[name])["LoadBalancers"])
    return []


def apply(ctx: Context, change: Change) -> str:
    want = change.after
    assert want is not None
    group = ctx.outputs.id(str(want.spec["security_group"]))
    elbv2 = ctx.clients.elbv2
    if change.action is Action.UPDATE and change.before is not None:
        arn = change.before.id
        elbv2.set_security_groups(LoadBalancerArn=arn, SecurityGroups=[group])
        if sorted(want.spec["subnets"]) != change.before.attrs.get("subnets"):
            elbv2.set_subnets(LoadBalancerArn=arn, Subnets=list(want.spec["subnets"]))
    else:
        if change.before is not None:  # replace: the name is taken until the old one goes
            delete(ctx, change.before)
        arn = _create(ctx, want, group)
    ctx.progress(change.address, "waiting for active")
    state = wait_active(ctx, arn)
    ctx.outputs.set(change.address, arn, dns_name=state.get("DNSName"))
    return arn


def _create(ctx: Context, want: Resource, group: str) -> str:
    """ELBv2 has no client token and moto makes twins of a name: look before creating,
    and after a lost answer look again (by name, then our tags) instead of resending."""
    found = _made(ctx, want)
    if found is not None:
        ctx.progress(want.address, "adopting the existing load balancer")
        ctx.clients.elbv2.set_security_groups(LoadBalancerArn=found, SecurityGroups=[group])
        return found
    request = create_request(want, ctx.scope, group)
    return made_once(lambda: str(ctx.clients.elbv2.create_load_balancer(**request)
                                 ["LoadBalancers"][0]["LoadBalancerArn"]),
                     lambda: _made(ctx, want))


def _made(ctx: Context, want: Resource) -> str | None:
    """This environment's load balancer of that name, if it exists; another's refuses."""
    for found in describe_by_name(ctx.clients, want.name):
        arn = str(found["LoadBalancerArn"])
        if arn not in owned_tags(ctx.clients, ctx.scope, [arn]):
            raise Refused(f"load balancer {want.name} exists and is not this environment's")
        return arn
    return None


def wait_active(ctx: Context, arn: str) -> dict[str, Any]:
    from argos_cloud.waiting import wait_for

    def describe() -> dict[str, Any]:
        return dict(ctx.clients.elbv2.describe_load_balancers(
            LoadBalancerArns=[arn])["LoadBalancers"][0])

    def failed(raw: dict[str, Any]) -> str | None:
        state = raw.get("State", {})
        return (state.get("Reason") or "failed") if state.get("Code") == "failed" else None

    return wait_for(describe, lambda raw: raw.get("State", {}).get("Code") == "active",
                    clock=ctx.clock, timeout=ctx.timeout, what=f"load balancer {arn} active",
                    failed=failed)


def delete(ctx: Context, have: Actual) -> None:
    """Delete, then wait until describing it says not found (gone counts as done)."""
    from argos_cloud.waiting import wait_for

    elbv2 = ctx.clients.elbv2
    with tolerate("LoadBalancerNotFound"):
        elbv2.delete_load_balancer(LoadBalancerArn=have.id)

    def present() -> bool:
        with tolerate("LoadBalancerNotFound"):
            return bool(elbv2.describe_load_balancers(LoadBalancerArns=[have.id])
                        ["LoadBalancers"])
        return False

    wait_for(present, lambda still: not still, clock=ctx.clock, timeout=ctx.timeout,
             what=f"load balancer {have.name} deleted")
