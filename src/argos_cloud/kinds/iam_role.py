"""The instances' IAM role: SSM core, its own parameter path, the bundle bucket.

IAM cannot filter by tag, so read lists by the environment's path and keeps
what the tags place in scope; there is one role per environment, so fetching
its tags, attached policies and inline policy one call each is acceptable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import ignoring, tolerate
from argos_cloud.kinds.base import Context, Declared, Teardown, same_address
from argos_cloud.model.names import TAG_ROLE, Scope, tag_dict, tag_list
from argos_cloud.plan.types import Action, Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "iam_role"
POLICY_NAME = "argos-cloud"
REPLACE_ON = ("path",)  # IAM cannot move a role to another path
UPDATE_ON = ("managed_policies", "parameter_path", "bucket")
GONE = "NoSuchEntity"
ASSUME_ROLE_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
DECLARED = Declared(
    teardown=Teardown(after=("instance", "launch_template", "auto_scaling_group",
                             "instance_profile")),
)
match = same_address


def iam_path(scope: Scope) -> str:
    """`/argos-cloud/<project>/<env>/`: where the environment's IAM entities live."""
    return f"/argos-cloud/{scope.project}/{scope.environment or 'shared'}/"


def read(clients: Clients, scope: Scope) -> list[Actual]:
    """One paginated list by path; then tags and policies of each (one role)."""
    iam = clients.iam
    pages = iam.get_paginator("list_roles").paginate(PathPrefix=iam_path(scope))
    out: list[Actual] = []
    for raw in (r for page in pages for r in page["Roles"]):
        name = raw["RoleName"]
        gone = tolerate(GONE)
        with gone:
            tags = tag_dict(iam.list_role_tags(RoleName=name)["Tags"])
            if not scope.owns(tags):
                continue
            attached = [p["PolicyArn"] for page in iam.get_paginator(
                "list_attached_role_policies").paginate(RoleName=name)
                for p in page["AttachedPolicies"]]
            document = _inline_policy(iam, name)
        if gone:  # deleted between the list and now
            continue
        out.append(parse(raw, tags, attached, document))
    return out


def _inline_policy(iam: Any, name: str) -> Mapping[str, Any] | None:
    gone = tolerate(GONE)
    with gone:
        doc = iam.get_role_policy(RoleName=name, PolicyName=POLICY_NAME)["PolicyDocument"]
    if gone:
        return None
    return json.loads(doc) if isinstance(doc, str) else dict(doc)


def parse(raw: Mapping[str, Any], tags: Mapping[str, str], attached: list[str],
          document: Mapping[str, Any] | None) -> Actual:
    params, bucket = _policy_targets(document)
    return Actual(KIND, tags.get(TAG_ROLE, ""), raw["RoleName"], raw["RoleName"], dict(tags),
                  {"arn": raw.get("Arn"), "path": raw.get("Path"),
                   "managed_policies": sorted(attached), "parameter_path": params,
                   "bucket": bucket})


def _policy_targets(document: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """The parameter path and bucket our inline policy grants (by statement Sid)."""
    if not document:
        return None, None
    params = bucket = None
    for st in document.get("Statement", []):
        resources = st.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else list(resources)
        if st.get("Sid") == "ReadParameters" and resources:
            params = min(resources, key=len).split(":parameter", 1)[-1]
        if st.get("Sid") == "ReadBundles" and resources:
            bucket = min(resources, key=len).removeprefix("arn:aws:s3:::")
    return params, bucket


def diff(want: Resource, have: Actual) -> Change:
    changed = tuple(k for k in REPLACE_ON if want.spec[k] != have.attrs.get(k))
    if changed:
        return Change.replace(want, have, "role path changed", changed)
    wanted = {"managed_policies": sorted(want.spec["managed_policies"]),
              "parameter_path": want.spec["parameter_path"], "bucket": want.spec["bucket"]}
    differ = tuple(k for k in UPDATE_ON if wanted[k] != have.attrs.get(k))
    if differ:
        return Change.update(want, have, f"{', '.join(differ)} differ".replace("_", " "),
                             differ)
    return Change.noop(want, have, "role exists with its policies")


def inline_policy(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Read of the environment's own parameters and bundles, and of its instances."""
    path = str(spec["parameter_path"]).rstrip("/")
    bucket = spec["bucket"]
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadParameters", "Effect": "Allow",
         "Action": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
         "Resource": [f"arn:aws:ssm:*:*:parameter{path}", f"arn:aws:ssm:*:*:parameter{path}/*"]},
        {"Sid": "DecryptParameters", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": "*", "Condition": {"StringLike": {"kms:ViaService": "ssm.*.amazonaws.com"}}},
        {"Sid": "ReadBundles", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]},
        {"Sid": "SeeMinions", "Effect": "Allow",
         "Action": ["ec2:DescribeInstances", "autoscaling:DescribeAutoScalingGroups"],
         "Resource": "*"},
    ]}


def create_request(want: Resource, scope: Scope) -> dict[str, Any]:
    return {"RoleName": want.name, "Path": want.spec["path"],
            "AssumeRolePolicyDocument": json.dumps(ASSUME_ROLE_POLICY),
            "Description": f"argos-cloud instances of {scope.project}/{scope.environment}",
            "Tags": tag_list(scope.tags(want.role))}


def put_policy_request(want: Resource) -> dict[str, Any]:
    return {"RoleName": want.name, "PolicyName": POLICY_NAME,
            "PolicyDocument": json.dumps(inline_policy(want.spec), sort_keys=True)}


def apply(ctx: Context, change: Change) -> str:
    want = change.after
    assert want is not None
    iam = ctx.clients.iam
    attached: set[str] = set()
    if change.action is Action.UPDATE and change.before is not None:
        attached = set(change.before.attrs.get("managed_policies") or [])
    else:
        if change.action is Action.REPLACE and change.before is not None:
            delete(ctx, change.before)
        _create(ctx, want)
        attached = _attached(iam, want.name)
    wanted = set(want.spec["managed_policies"])
    for arn in sorted(wanted - attached):
        iam.attach_role_policy(RoleName=want.name, PolicyArn=arn)
    for arn in sorted(attached - wanted):
        _gone_ok(iam.detach_role_policy, RoleName=want.name, PolicyArn=arn)
    iam.put_role_policy(**put_policy_request(want))
    return want.name


def _attached(iam: Any, name: str) -> set[str]:
    pages = iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
    return {p["PolicyArn"] for page in pages for p in page["AttachedPolicies"]}


def _create(ctx: Context, want: Resource) -> None:
    iam = ctx.clients.iam
    with tolerate("EntityAlreadyExists"):
        iam.create_role(**create_request(want, ctx.scope))
        return
    # Made by an interrupted run whose answer was lost: adopt it and tag it.
    iam.tag_role(RoleName=want.name, Tags=tag_list(ctx.scope.tags(want.role)))


def _gone_ok(call: Callable[..., object], **request: Any) -> None:
    """One IAM call for which 'no such entity' means it is already done."""
    ignoring({GONE}, call, **request)


def delete(ctx: Context, have: Actual) -> None:
    """Detach, drop inline policies, leave profiles (only those it is in), then delete."""
    iam = ctx.clients.iam
    name = have.id
    gone = tolerate(GONE)
    with gone:
        attached = _attached(iam, name)
        inline = [p for page in iam.get_paginator("list_role_policies").paginate(
            RoleName=name) for p in page["PolicyNames"]]
        profiles = [p["InstanceProfileName"] for page in iam.get_paginator(
            "list_instance_profiles_for_role").paginate(RoleName=name)
            for p in page["InstanceProfiles"]]
    if gone:
        return
    for arn in sorted(attached):
        _gone_ok(iam.detach_role_policy, RoleName=name, PolicyArn=arn)
    for policy in inline:
        _gone_ok(iam.delete_role_policy, RoleName=name, PolicyName=policy)
    for profile in profiles:
        _gone_ok(iam.remove_role_from_instance_profile, InstanceProfileName=profile,
                 RoleName=name)
    _gone_ok(iam.delete_role, RoleName=name)
