"""The instance profile that carries the role onto every instance and launch template.

IAM cannot filter by tag: read lists by the environment's path and keeps what
the tags place in scope. IAM is eventually consistent, so EC2 may refuse a
new profile for a few seconds: `retry_iam_propagation` covers the callers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from argos_cloud.aws.errors import ignoring, tolerate
from argos_cloud.kinds.base import Context, Declared, Teardown, make_way, same_address
from argos_cloud.kinds.iam_role import iam_path
from argos_cloud.model.names import TAG_ROLE, Scope, tag_dict, tag_list
from argos_cloud.plan.references import Reference
from argos_cloud.plan.types import Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "instance_profile"
REPLACE_ON = ("path",)  # IAM cannot move a profile to another path
GONE = "NoSuchEntity"
# EC2's answer while a new profile has not reached it yet ("Invalid IAM Instance Profile").
PROPAGATION_CODES = frozenset({"InvalidParameterValue"})
T = TypeVar("T")
DECLARED = Declared(
    references=(Reference("role", "roles"),),
    teardown=Teardown(after=("instance", "launch_template", "auto_scaling_group")),
)
match = same_address


def read(clients: Clients, scope: Scope) -> list[Actual]:
    """One paginated list by path; tags from the listing, else one get per profile."""
    iam = clients.iam
    pages = iam.get_paginator("list_instance_profiles").paginate(PathPrefix=iam_path(scope))
    out: list[Actual] = []
    for raw in (p for page in pages for p in page["InstanceProfiles"]):
        tags = tag_dict(raw.get("Tags"))
        if not tags:  # AWS leaves tags out of list answers; get_instance_profile has them
            gone = tolerate(GONE)
            with gone:
                got = iam.get_instance_profile(InstanceProfileName=raw["InstanceProfileName"])
            if gone:
                continue
            tags = tag_dict(got["InstanceProfile"].get("Tags"))
        if scope.owns(tags):
            out.append(parse(raw, tags))
    return out


def parse(raw: Mapping[str, Any], tags: Mapping[str, str]) -> Actual:
    return Actual(KIND, tags.get(TAG_ROLE, ""), raw["InstanceProfileName"],
                  raw["InstanceProfileName"], dict(tags),
                  {"arn": raw.get("Arn"), "path": raw.get("Path"),
                   "roles": sorted(r["RoleName"] for r in raw.get("Roles", []))})


def diff(want: Resource, have: Actual) -> Change:
    """`want.spec["role"]` is an address; its name is unknown here, so one role is asked."""
    changed = tuple(k for k in REPLACE_ON if want.spec[k] != have.attrs.get(k))
    if changed:
        return Change.replace(want, have, "profile path changed", changed)
    if len(have.attrs.get("roles") or []) != 1:
        return Change.update(want, have, "profile does not hold exactly one role", ("roles",))
    return Change.noop(want, have, "profile exists and holds its role")


def create_request(want: Resource, scope: Scope) -> dict[str, Any]:
    return {"InstanceProfileName": want.name, "Path": want.spec["path"],
            "Tags": tag_list(scope.tags(want.role))}


def apply(ctx: Context, change: Change) -> str:
    want = change.after
    assert want is not None
    iam = ctx.clients.iam
    if make_way(ctx, change, delete):
        _create(ctx, want)
    role = ctx.outputs.id(str(want.spec["role"]))
    profile = iam.get_instance_profile(InstanceProfileName=want.name)["InstanceProfile"]
    held = [r["RoleName"] for r in profile.get("Roles", [])]
    for other in (r for r in held if r != role):  # a profile holds one role at most
        _gone_ok(iam.remove_role_from_instance_profile, InstanceProfileName=want.name,
                 RoleName=other)
    if role not in held:
        ctx.progress(change.address, f"adding role {role}")
        _add_role(iam, want.name, role)
    ctx.outputs.set(change.address, want.name, arn=profile["Arn"])
    return want.name


def _add_role(iam: Any, profile: str, role: str) -> None:
    """Add the role; LimitExceeded when the role is already there (a resend) counts as done."""
    full = tolerate("LimitExceeded")
    with full:
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    if full.error is not None:
        held = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]
        if role not in [r["RoleName"] for r in held.get("Roles", [])]:
            raise full.error


def _create(ctx: Context, want: Resource) -> None:
    iam = ctx.clients.iam
    with tolerate("EntityAlreadyExists"):
        iam.create_instance_profile(**create_request(want, ctx.scope))
        return
    # Made by an interrupted run whose answer was lost: adopt it and tag it.
    iam.tag_instance_profile(InstanceProfileName=want.name,
                             Tags=tag_list(ctx.scope.tags(want.role)))


def _gone_ok(call: Callable[..., object], **request: Any) -> None:
    """One IAM call for which 'no such entity' means it is already done."""
    ignoring({GONE}, call, **request)


def delete(ctx: Context, have: Actual) -> None:
    """Remove the roles it holds now (moto fails on any other), then delete it."""
    iam = ctx.clients.iam
    gone = tolerate(GONE)
    with gone:
        profile = iam.get_instance_profile(InstanceProfileName=have.id)["InstanceProfile"]
    if gone:
        return
    for role in (r["RoleName"] for r in profile.get("Roles", [])):
        _gone_ok(iam.remove_role_from_instance_profile, InstanceProfileName=have.id,
                 RoleName=role)
    _gone_ok(iam.delete_instance_profile, InstanceProfileName=have.id)


def retry_iam_propagation(fn: Callable[[], T], ctx: Context, what: str = "launch") -> T:
    """Call `fn` (run_instances, create_launch_template…) until EC2 sees a new profile.

    EC2 answers InvalidParameterValue for ~10 s after the profile is made; the
    backoff runs on `ctx.clock` (about 2 minutes in all before giving up).
    """
    from argos_cloud.aws.retry import retry_on

    return retry_on(PROPAGATION_CODES, fn, clock=ctx.clock, attempts=8,
                    what=f"{what} (waiting for the instance profile to reach EC2)",
                    initial=2.0, factor=1.5, cap=20.0)
