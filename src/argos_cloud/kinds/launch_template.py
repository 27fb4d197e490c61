"""Launch templates: what every app and worker instance is launched from.

A change makes a new version and makes it the default; the Auto Scaling group
launches `$Default`, so new instances pick it up without touching the group.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import tolerate
from argos_cloud.errors import Refused
from argos_cloud.kinds.base import Context, Declared, Teardown, client_token, same_address
from argos_cloud.kinds.instance import IMDSV2, root_device
from argos_cloud.model.desired import digest
from argos_cloud.model.names import (
    TAG_ROLE,
    TAG_USER_DATA,
    Scope,
    tag_dict,
    tag_list,
    tag_specifications,
)
from argos_cloud.plan.cost import Priced
from argos_cloud.plan.details import Shown
from argos_cloud.plan.references import Reference
from argos_cloud.plan.types import Action, Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "launch_template"
# Compared by diff; the references (image, security group, profile) by the planner's ids.
PLAIN_FIELDS = ("instance_type", "user_data_digest", "volume_size", "key_name")
DECLARED = Declared(
    references=(Reference("image", "image_id"), Reference("security_group", "security_groups"),
                Reference("instance_profile", "instance_profile")),
    shown=(Shown("instance_type", "instance_type"), Shown("image", "image_id"),
           Shown("volume_size", "volume_size"), Shown("user_data_digest", "user_data_digest"),
           Shown("key_name", "key_name")),
    priced=Priced(names_type=True),
    teardown=Teardown(after=("auto_scaling_group",)),
)
match = same_address


def read(clients: Clients, scope: Scope) -> list[Actual]:
    """Two batched calls whatever the number of templates.

    `describe_launch_templates` filters by tag; the `$Default` versions come from one
    account-wide `describe_launch_template_versions` (no template named: AWS then
    returns every template's default version), kept for the owned templates only.
    """
    pages = clients.ec2.get_paginator("describe_launch_templates").paginate(
        Filters=scope.tag_filters())
    raws = [t for page in pages for t in page["LaunchTemplates"]
            if scope.owns(tag_dict(t.get("Tags")))]
    if not raws:
        return []
    ids = {t["LaunchTemplateId"] for t in raws}
    versions = clients.ec2.get_paginator("describe_launch_template_versions").paginate(
        Versions=["$Default"])
    data = {v["LaunchTemplateId"]: v.get("LaunchTemplateData", {})
            for page in versions for v in page["LaunchTemplateVersions"]
            if v["LaunchTemplateId"] in ids}
    return [parse(t, data.get(t["LaunchTemplateId"], {})) for t in raws]


def facts_of(data: Mapping[str, Any]) -> dict[str, Any]:
    """The facts of a version's LaunchTemplateData that diff compares, in our spelling."""
    user_data = data.get("UserData")
    text = base64.b64decode(user_data).decode(errors="replace") if user_data else None
    volumes = [m.get("Ebs", {}) for m in data.get("BlockDeviceMappings", []) if "Ebs" in m]
    return {
        "image_id": data.get("ImageId"),
        "instance_type": data.get("InstanceType"),
        "user_data_digest": digest(text) if text is not None else None,
        "security_groups": sorted(data.get("SecurityGroupIds", [])),
        "volume_size": volumes[0].get("VolumeSize") if volumes else None,
        "key_name": data.get("KeyName"),
        "instance_profile": data.get("IamInstanceProfile", {}).get("Name"),
        "http_tokens": data.get("MetadataOptions", {}).get("HttpTokens"),
    }


def parse(raw: Mapping[str, Any], data: Mapping[str, Any]) -> Actual:
    tags = tag_dict(raw.get("Tags"))
    facts = facts_of(data)
    if facts["user_data_digest"] is None:
        facts["user_data_digest"] = tags.get(TAG_USER_DATA)
    return Actual(KIND, tags.get(TAG_ROLE, ""), raw["LaunchTemplateId"],
                  raw.get("LaunchTemplateName", ""), tags,
                  {"name": raw.get("LaunchTemplateName"), **facts,
                   "default_version": raw.get("DefaultVersionNumber"),
                   "latest_version": raw.get("LatestVersionNumber")})


def diff(want: Resource, have: Actual) -> Change:
    spec, attrs = want.spec, have.attrs
    changed = [k for k in PLAIN_FIELDS if k in attrs and spec.get(k) != attrs[k]]
    if attrs.get("http_tokens") not in (None, "required"):
        changed.append("metadata_options")
    if changed:
        return Change.update(want, have, f"{', '.join(changed)} changed: new version",
                             tuple(changed))
    return Change.noop(want, have, "default version matches")


def template_data(want: Resource, scope: Scope, *, image_id: str, security_group: str,
                  instance_profile: str, root_device: str) -> dict[str, Any]:
    """LaunchTemplateData: IMDSv2 only, an encrypted gp3 root, instance and volume tags."""
    spec = want.spec
    data: dict[str, Any] = {
        "ImageId": image_id,
        "InstanceType": spec["instance_type"],
        "IamInstanceProfile": {"Name": instance_profile},
        "SecurityGroupIds": [security_group],
        "UserData": base64.b64encode(str(spec["user_data"]).encode()).decode(),
        "MetadataOptions": dict(IMDSV2),
        "BlockDeviceMappings": [{"DeviceName": root_device, "Ebs": {
            "VolumeSize": spec["volume_size"], "VolumeType": "gp3", "Encrypted": True,
            "DeleteOnTermination": True}}],
        "TagSpecifications": tag_specifications(scope.tags(want.role), "instance", "volume"),
    }
    if spec.get("key_name"):
        data["KeyName"] = spec["key_name"]
    return data


def create_request(want: Resource, scope: Scope, data: Mapping[str, Any]) -> dict[str, Any]:
    tags = scope.tags(want.role, **{TAG_USER_DATA: str(want.spec["user_data_digest"])})
    return {"LaunchTemplateName": want.name, "LaunchTemplateData": dict(data),
            "VersionDescription": f"argos-cloud user data {want.spec['user_data_digest']}",
            "TagSpecifications": tag_specifications(tags, "launch-template"),
            "ClientToken": client_token(scope, want.address, data)}


def version_request(want: Resource, scope: Scope, template_id: str,
                    data: Mapping[str, Any]) -> dict[str, Any]:
    return {"LaunchTemplateId": template_id, "LaunchTemplateData": dict(data),
            "VersionDescription": f"argos-cloud user data {want.spec['user_data_digest']}",
            "ClientToken": client_token(scope, want.address, {"id": template_id, **data})}


def _root_device(ctx: Context, image_id: str) -> str:
    """The image's root device name: known from this run's bake, else asked of EC2."""
    known = ctx.outputs.attr("image.image", "root_device_name")
    return str(known) if known else root_device(ctx.clients, image_id)


def apply(ctx: Context, change: Change) -> str:
    want = change.after
    assert want is not None
    image_id = ctx.outputs.id(str(want.spec["image"]))
    data = template_data(want, ctx.scope, image_id=image_id,
                         security_group=ctx.outputs.id(str(want.spec["security_group"])),
                         instance_profile=ctx.outputs.id(str(want.spec["instance_profile"])),
                         root_device=_root_device(ctx, image_id))
    if change.action is Action.UPDATE and change.before is not None:
        template_id, version = change.before.id, _new_version(ctx, want, change.before.id, data)
    else:
        if change.before is not None:  # replace
            delete(ctx, change.before)
        template_id, version = _create(ctx, want, data)
    ctx.outputs.set(change.address, template_id, version=version)
    return template_id


def _create(ctx: Context, want: Resource, data: Mapping[str, Any]) -> tuple[str, int]:
    ec2 = ctx.clients.ec2
    with tolerate("InvalidLaunchTemplateName.AlreadyExistsException"):
        made = ec2.create_launch_template(**create_request(want, ctx.scope, data))
        return str(made["LaunchTemplate"]["LaunchTemplateId"]), 1
    # Made by an interrupted run whose answer was lost: adopt it if it is ours.
    found = ec2.describe_launch_templates(LaunchTemplateNames=[want.name])["LaunchTemplates"][0]
    if not ctx.scope.owns(tag_dict(found.get("Tags"))):
        raise Refused(f"launch template {want.name} exists and is not this environment's")
    template_id = str(found["LaunchTemplateId"])
    current = ec2.describe_launch_template_versions(
        LaunchTemplateId=template_id, Versions=["$Default"])["LaunchTemplateVersions"][0]
    if facts_of(current.get("LaunchTemplateData", {})) == facts_of(data):
        return template_id, int(current["VersionNumber"])
    return template_id, _new_version(ctx, want, template_id, data)


def _new_version(ctx: Context, want: Resource, template_id: str,
                 data: Mapping[str, Any]) -> int:
    ec2 = ctx.clients.ec2
    made = ec2.create_launch_template_version(
        **version_request(want, ctx.scope, template_id, data))
    number = int(made["LaunchTemplateVersion"]["VersionNumber"])
    ec2.modify_launch_template(LaunchTemplateId=template_id, DefaultVersion=str(number))
    ec2.create_tags(Resources=[template_id], Tags=tag_list(
        {TAG_USER_DATA: str(want.spec["user_data_digest"])}))
    ctx.progress(want.address, f"version {number} is the default")
    return number


def delete(ctx: Context, have: Actual) -> None:
    """Deletes every version with it; gone counts as done."""
    # AWS says InvalidLaunchTemplateId.NotFound; moto says the Name one.
    with tolerate("InvalidLaunchTemplateId.NotFound",
                  "InvalidLaunchTemplateName.NotFoundException"):
        ctx.clients.ec2.delete_launch_template(LaunchTemplateId=have.id)
