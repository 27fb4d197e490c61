"""Single instances: the Salt master, the database and the broker.

Group members belong to their Auto Scaling group and bake instances to the
image, so discovery leaves both out. User data is not readable in a batch, so
its digest rides on a tag set at launch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import tolerate
from argos_cloud.errors import OperationFailed
from argos_cloud.kinds.base import (
    Context,
    Declared,
    Teardown,
    client_token,
    first_difference,
    same_address,
)
from argos_cloud.kinds.instance_profile import retry_iam_propagation
from argos_cloud.model.desired import DATA_DEVICE
from argos_cloud.model.names import (
    IMAGE_ROLE,
    TAG_ROLE,
    TAG_USER_DATA,
    Scope,
    tag_dict,
    tag_specifications,
)
from argos_cloud.plan.cost import Priced
from argos_cloud.plan.details import Shown
from argos_cloud.plan.references import Reference
from argos_cloud.plan.types import Action, Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "instance"
TAG_ASG = "aws:autoscaling:groupName"
TAG_COMMIT = "argos-cloud:commit"  # set by a successful deploy on each instance it reached
LIVE_STATES = ("pending", "running", "stopping", "stopped")
REPLACE_ON = ("instance_type", "image_id", "user_data_digest")  # need a new instance
DEFAULT_ROOT_DEVICE = "/dev/xvda"
IMDSV2 = {"HttpTokens": "required", "HttpEndpoint": "enabled"}  # every launch: tokens only
DECLARED = Declared(
    references=(Reference("security_group", "security_groups"),),
    shown=(Shown("instance_type", "instance_type"), Shown("image_id", "image_id"),
           Shown("volume_size"), Shown("user_data_digest", "user_data_digest")),
    priced=Priced(instance=True),
    teardown=Teardown(snapshot_roles=("database",)),  # the final snapshot first
)
match = same_address


def read(clients: Clients, scope: Scope) -> list[Actual]:
    """The scope's own instances: `read_all`'s one describe, without group members."""
    return [a for a in read_all(clients, scope) if TAG_ASG not in a.tags]


def parse(raw: Mapping[str, Any], device: str = DATA_DEVICE) -> Actual:
    tags = tag_dict(raw.get("Tags"))
    volumes = {m["DeviceName"]: m["Ebs"]["VolumeId"]
               for m in raw.get("BlockDeviceMappings", []) if "Ebs" in m}
    return Actual(KIND, tags.get(TAG_ROLE, ""), raw["InstanceId"], tags.get("Name", ""), tags, {
        "instance_type": raw.get("InstanceType"), "image_id": raw.get("ImageId"),
        "state": raw.get("State", {}).get("Name"), "private_ip": raw.get("PrivateIpAddress"),
        "subnet": raw.get("SubnetId"),
        "security_groups": sorted(g["GroupId"] for g in raw.get("SecurityGroups", [])),
        "user_data_digest": tags.get(TAG_USER_DATA), "data_volume": volumes.get(device),
        "volumes": volumes, "public_ip": raw.get("PublicIpAddress"),
        "commit": tags.get(TAG_COMMIT), "group": tags.get(TAG_ASG)},
        key=raw["InstanceId"] if TAG_ASG in tags else "")


def read_all(clients: Clients, scope: Scope) -> list[Actual]:
    """Every live instance of the scope, Auto Scaling members included (for status).

    One paginated describe, like `read`; members are keyed by their id.
    """
    pages = clients.ec2.get_paginator("describe_instances").paginate(Filters=[
        *scope.tag_filters(), {"Name": "instance-state-name", "Values": list(LIVE_STATES)}])
    return [parse(raw) for page in pages for reservation in page["Reservations"]
            for raw in reservation["Instances"]
            if tag_dict(raw.get("Tags")).get(TAG_ROLE) != IMAGE_ROLE
            and scope.owns(tag_dict(raw.get("Tags")))]


def tag_commit(clients: Clients, instance_ids: list[str], commit: str) -> None:
    """Record on each instance the commit a deploy brought it to (status reads it back)."""
    for start in range(0, len(instance_ids), 500):  # CreateTags takes 1000 resources
        chunk = instance_ids[start:start + 500]
        if chunk:
            clients.ec2.create_tags(Resources=chunk,
                                    Tags=[{"Key": TAG_COMMIT, "Value": commit}])


def diff(want: Resource, have: Actual) -> Change:
    changed = first_difference(want.spec, have.attrs, REPLACE_ON)
    if changed:
        return Change.replace(want, have, f"{' and '.join(changed)} changed", changed)
    if want.spec.get("data_volume") and not have.attrs.get("data_volume"):
        return Change.update(want, have, "data volume not attached", ("data_volume",))
    return Change.noop(want, have, "instance runs with the wanted type, image and user data")


def profile_reference(ident: str) -> dict[str, str]:
    """IamInstanceProfile by ARN when given one, else by name."""
    return {"Arn": ident} if ident.startswith("arn:") else {"Name": ident}


def run_instances_request(want: Resource, scope: Scope, *, security_group_id: str,
                          instance_profile: str, token: str,
                          root_device: str = DEFAULT_ROOT_DEVICE) -> dict[str, Any]:
    spec = want.spec
    tags = scope.tags(want.role, **{TAG_USER_DATA: str(spec["user_data_digest"])})
    request: dict[str, Any] = {
        "ImageId": spec["image_id"], "InstanceType": spec["instance_type"],
        "MinCount": 1, "MaxCount": 1, "ClientToken": token,  # a retry makes no twin
        "MetadataOptions": dict(IMDSV2), "IamInstanceProfile": profile_reference(instance_profile),
        "SecurityGroupIds": [security_group_id], "SubnetId": spec["subnet"],
        "UserData": spec["user_data"],
        "BlockDeviceMappings": [{"DeviceName": root_device, "Ebs": {
            "VolumeSize": int(spec["volume_size"]), "VolumeType": "gp3", "Encrypted": True,
            "DeleteOnTermination": True}}],
        "TagSpecifications": [*tag_specifications(tags, "instance"),
                              *tag_specifications(scope.tags(want.role), "volume")],
    }
    if spec.get("key_name"):
        request["KeyName"] = spec["key_name"]
    return request


def root_device(clients: Clients, image_id: str) -> str:
    """The AMI's root device name (the root volume's size is set on that device)."""
    unknown = tolerate("InvalidAMIID.NotFound", "InvalidAMIID.Malformed",
                       "InvalidAMIID.Unavailable")
    with unknown:
        images = clients.ec2.describe_images(ImageIds=[image_id])["Images"]
    if unknown:
        images = []
    return str(images[0].get("RootDeviceName") or DEFAULT_ROOT_DEVICE) if images \
        else DEFAULT_ROOT_DEVICE


def describe_one(clients: Clients, instance_id: str) -> dict[str, Any] | None:
    """The instance, or None while AWS does not know it yet (or no longer)."""
    unknown = tolerate("InvalidInstanceID.NotFound")
    with unknown:
        reservations = clients.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    if unknown:
        return None
    found = [i for r in reservations for i in r["Instances"]]
    return found[0] if found else None


def _state(raw: Mapping[str, Any] | None) -> str:
    return str(raw["State"]["Name"]) if raw else ""


def wait_running(ctx: Context, instance_id: str, what: str) -> dict[str, Any]:
    from argos_cloud.waiting import wait_for

    def failed(raw: Mapping[str, Any] | None) -> str | None:
        if _state(raw) in ("shutting-down", "terminated", "stopped"):
            assert raw is not None
            return f"it is {_state(raw)}: {raw.get('StateReason', {}).get('Message', '')}"
        return None

    raw = wait_for(lambda: describe_one(ctx.clients, instance_id),
                   lambda r: _state(r) == "running", clock=ctx.clock, timeout=ctx.timeout,
                   what=f"{what} {instance_id} to run", failed=failed)
    assert raw is not None
    return raw


def terminate(ctx: Context, instance_id: str, what: str) -> None:
    """Terminate and wait until terminated; gone counts as done."""
    from argos_cloud.waiting import wait_for

    gone = tolerate("InvalidInstanceID.NotFound")
    with gone:
        ctx.clients.ec2.terminate_instances(InstanceIds=[instance_id])
    if gone:
        return
    wait_for(lambda: describe_one(ctx.clients, instance_id),
             lambda r: r is None or _state(r) == "terminated", clock=ctx.clock,
             timeout=ctx.timeout, what=f"{what} {instance_id} to terminate")


def apply(ctx: Context, change: Change) -> str:
    want = change.after
    assert want is not None
    if change.action is Action.UPDATE and change.before is not None:
        group = ctx.outputs.id(str(want.spec["security_group"]))
        if change.before.attrs.get("security_groups") != [group]:  # swapped by hand
            ctx.progress(change.address, f"putting back security group {group}")
            ctx.clients.ec2.modify_instance_attribute(InstanceId=change.before.id,
                                                      Groups=[group])
        if want.spec.get("data_volume"):
            _attach_data_volume(ctx, want, change.before.id)
        return change.before.id
    if change.action is Action.REPLACE and change.before is not None:
        if change.before.attrs.get("data_volume"):
            _release_data_volume(ctx, change.before)
        ctx.progress(change.address, f"terminating {change.before.id}")
        terminate(ctx, change.before.id, change.address)
    return _launch(ctx, want, change.address)


def _launch(ctx: Context, want: Resource, address: str) -> str:
    ec2 = ctx.clients.ec2
    request = run_instances_request(
        want, ctx.scope, security_group_id=ctx.outputs.id(want.spec["security_group"]),
        instance_profile=ctx.outputs.id(want.spec["instance_profile"]),
        token=client_token(ctx.scope, want.address, want.spec),
        root_device=root_device(ctx.clients, want.spec["image_id"]))
    reply = retry_iam_propagation(lambda: ec2.run_instances(**request), ctx,
                                  f"launch {address}")
    instance = reply["Instances"][0]
    if _state(instance) in ("shutting-down", "terminated"):
        # AWS answered the token with an instance terminated since: launch anew.
        request["ClientToken"] = client_token(ctx.scope, want.address,
                                              {**want.spec, "salt": instance["InstanceId"]})
        reply = retry_iam_propagation(lambda: ec2.run_instances(**request), ctx,
                                  f"launch {address}")
        instance = reply["Instances"][0]
    instance_id = str(instance["InstanceId"])
    ctx.progress(address, f"waiting for {instance_id} to run")
    raw = wait_running(ctx, instance_id, address)
    private_ip = raw.get("PrivateIpAddress")
    ctx.outputs.set(address, instance_id, private_ip=private_ip)
    if want.role == "master" and private_ip:
        _publish_master_address(ctx, str(private_ip))
    if want.spec.get("data_volume"):
        _attach_data_volume(ctx, want, instance_id)
    return instance_id


def _publish_master_address(ctx: Context, private_ip: str) -> None:
    """Minions read the master's address from SSM (provision/userdata.py)."""
    ctx.clients.ssm.put_parameter(Name=ctx.scope.parameter("master-address"),
                                  Value=private_ip, Type="String", Overwrite=True)


def adopt(ctx: Context, want: Resource, have: Actual) -> None:
    """An instance found after a lost answer: finish what its launch would have done."""
    if want.role == "master" and have.attrs.get("private_ip"):
        _publish_master_address(ctx, str(have.attrs["private_ip"]))


def _describe_volume(ctx: Context, volume_id: str) -> dict[str, Any]:
    return dict(ctx.clients.ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0])


def _attach_data_volume(ctx: Context, want: Resource, instance_id: str) -> None:
    """Attach the data volume on the spec's device and wait until it is in use."""
    from argos_cloud.waiting import wait_for

    volume_id = ctx.outputs.id(str(want.spec["data_volume"]))
    device = str(want.spec.get("device", DATA_DEVICE))
    attached = [a for a in _describe_volume(ctx, volume_id).get("Attachments", [])
                if a.get("State") in ("attaching", "attached")]
    if any(a["InstanceId"] == instance_id for a in attached):
        return
    if attached:
        raise OperationFailed(f"data volume {volume_id} is attached to "
                              f"{attached[0]['InstanceId']}, not to {instance_id}; detach "
                              "it there first (it is never taken from a running database)")
    ctx.progress(want.address, f"attaching {volume_id} on {device}")
    ctx.clients.ec2.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device=device)
    wait_for(lambda: _describe_volume(ctx, volume_id),
             lambda v: v["State"] == "in-use" and any(
                 a.get("State") == "attached" and a["InstanceId"] == instance_id
                 for a in v.get("Attachments", [])),
             clock=ctx.clock, timeout=ctx.timeout, what=f"{volume_id} to attach")


def _release_data_volume(ctx: Context, have: Actual) -> None:
    """Stop the old database cleanly, then detach its data volume (never deleted)."""
    from argos_cloud.waiting import wait_for

    volume_id = str(have.attrs["data_volume"])
    ctx.progress(have.address, f"stopping {have.id} to detach {volume_id}")
    ec2 = ctx.clients.ec2
    ec2.stop_instances(InstanceIds=[have.id])
    wait_for(lambda: describe_one(ctx.clients, have.id),
             lambda r: _state(r) in ("stopped", "terminated", ""), clock=ctx.clock,
             timeout=ctx.timeout, what=f"{have.id} to stop")
    with tolerate("InvalidVolume.NotFound", "InvalidInstanceID.NotFound",
                  "InvalidAttachment.NotFound", "IncorrectState"):
        ec2.detach_volume(VolumeId=volume_id, InstanceId=have.id)
    wait_for(lambda: _describe_volume(ctx, volume_id), lambda v: v["State"] == "available",
             clock=ctx.clock, timeout=ctx.timeout, what=f"{volume_id} to detach")


def delete(ctx: Context, have: Actual) -> None:
    """Terminate and wait; the database's data volume stays (DeleteOnTermination false)."""
    terminate(ctx, have.id, have.address)
