"""The image bake: a temporary instance, masterless Salt, a checked scrub, an AMI.

Every bake resource carries the project's tags, role `image` and the bake
digest, so `clean` finds leftovers without the process that made them
(Packer's weak spot after SIGKILL). A bake first removes what an earlier
failed bake left, and always removes its own instance and group, on failure
and Ctrl-C too.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import tolerate
from argos_cloud.aws.retry import made_once
from argos_cloud.clock import Clock, utc_stamp
from argos_cloud.errors import OperationFailed
from argos_cloud.kinds import image as image_kind
from argos_cloud.kinds.base import Context
from argos_cloud.kinds.instance import (
    IMDSV2,
    LIVE_STATES,
    profile_reference,
    root_device,
    wait_running,
)
from argos_cloud.model.names import IMAGE_ROLE, TAG_BAKE, TAG_TOKEN, Scope, tag_dict, tag_list
from argos_cloud.model.names import tag_specifications as tag_specs
from argos_cloud.plan.types import Resource
from argos_cloud.provision.remote import RemoteExecutor

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

EMULATOR_NOTE = ("emulator: the image bake's Salt run and scrub check were sent over SSM but "
                 "not executed; the image is emulated")
MAX_TREE_B64 = 48 * 1024  # what fits in one SSM command with room to spare
CHUNK = 4096
BAKE_TIMEOUT = 3600.0


@dataclass(frozen=True)
class LeftoverImage:
    image_id: str
    name: str
    state: str
    snapshots: tuple[str, ...]


@dataclass(frozen=True)
class BakeLeftovers:
    instances: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    images: tuple[LeftoverImage, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.instances or self.security_groups or self.images)


def _filters(project_scope: Scope) -> list[dict[str, object]]:
    return image_kind.image_filters(project_scope)


def find_bake_leftovers(clients: Clients, project_scope: Scope) -> BakeLeftovers:
    """Bake instances still alive, bake security groups, and the project's images."""
    shared = image_kind.shared_scope(project_scope)
    ec2 = clients.ec2
    pages = ec2.get_paginator("describe_instances").paginate(Filters=[
        *_filters(shared), {"Name": "tag-key", "Values": [TAG_BAKE]},
        {"Name": "instance-state-name", "Values": list(LIVE_STATES)}])
    instances = [i["InstanceId"] for p in pages for r in p["Reservations"]
                 for i in r["Instances"] if shared.owns(tag_dict(i.get("Tags")))]
    groups = [g["GroupId"] for p in ec2.get_paginator("describe_security_groups").paginate(
        Filters=_filters(shared)) for g in p["SecurityGroups"]
        if shared.owns(tag_dict(g.get("Tags")))]
    images = [LeftoverImage(a.id, a.name, str(a.attrs.get("state")),
                            tuple(a.attrs.get("snapshots") or ()))
              for a in image_kind.read(clients, shared)]
    return BakeLeftovers(tuple(sorted(instances)), tuple(sorted(groups)), tuple(images))


def remove_bake_leftovers(clients: Clients, clock: Clock, leftovers: BakeLeftovers, *,
                          images: bool, timeout: float = 1800.0) -> list[str]:
    """Instances first (terminated), then groups, then images if asked; what was removed."""
    done: list[str] = []
    if leftovers.instances:
        terminate_all(clients, clock, list(leftovers.instances), timeout)
        done += [f"terminated bake instance {i}" for i in leftovers.instances]
    for group_id in leftovers.security_groups:
        delete_group(clients, clock, group_id)
        done.append(f"deleted bake security group {group_id}")
    for image in leftovers.images if images else ():
        image_kind.deregister(clients, clock, image.image_id, image.snapshots)
        snaps = f" and its snapshots {', '.join(image.snapshots)}" if image.snapshots else ""
        done.append(f"deregistered image {image.image_id} ({image.name}, {image.state}){snaps}")
    return done


def terminate_all(clients: Clients, clock: Clock, instance_ids: list[str],
                  timeout: float) -> None:
    """Terminate and wait until all are terminated (one describe per poll)."""
    from argos_cloud.waiting import wait_for

    ec2 = clients.ec2
    some_gone = tolerate("InvalidInstanceID.NotFound")
    with some_gone:
        ec2.terminate_instances(InstanceIds=instance_ids)
    if some_gone:
        for one in instance_ids:  # one id unknown fails the batch: go one by one
            with tolerate("InvalidInstanceID.NotFound"):
                ec2.terminate_instances(InstanceIds=[one])

    def states() -> list[str]:
        pages = ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "instance-id", "Values": instance_ids}])
        return [i["State"]["Name"] for p in pages for r in p["Reservations"]
                for i in r["Instances"]]

    wait_for(states, lambda s: all(x == "terminated" for x in s), clock=clock,
             timeout=timeout, what=f"bake instances {', '.join(instance_ids)} to terminate")


def delete_group(clients: Clients, clock: Clock, group_id: str) -> None:
    """Delete; DependencyViolation (an ENI still held) is retried, gone is done."""
    from argos_cloud.aws.retry import retry_on

    def attempt() -> None:
        with tolerate("InvalidGroup.NotFound"):
            clients.ec2.delete_security_group(GroupId=group_id)

    retry_on({"DependencyViolation"}, attempt, clock=clock, attempts=12,
             what=f"delete bake security group {group_id}")


def bake_tags(want: Resource, scope: Scope) -> dict[str, str]:
    return image_kind.shared_scope(scope).tags(IMAGE_ROLE, **{TAG_BAKE: want.spec["digest"]})


def bake_group_request(want: Resource, tags: dict[str, str], stamp: str) -> dict[str, Any]:
    return {"GroupName": f"{want.name}-bake-{stamp}",
            "Description": "argos-cloud image bake (temporary, no ingress)",
            "VpcId": want.spec["vpc_id"], "TagSpecifications": tag_specs(tags, "security-group")}


def bake_instance_request(want: Resource, tags: dict[str, str], *, group_id: str,
                          instance_profile: str, root_device_name: str) -> dict[str, Any]:
    spec = want.spec
    return {"ImageId": spec["base_ami"], "InstanceType": spec["instance_type"],
            "MinCount": 1, "MaxCount": 1, "MetadataOptions": dict(IMDSV2),
            "IamInstanceProfile": profile_reference(instance_profile),
            "SecurityGroupIds": [group_id], "SubnetId": spec["subnet"],
            "BlockDeviceMappings": [{"DeviceName": root_device_name, "Ebs": {
                "VolumeSize": int(spec["volume_size"]), "VolumeType": "gp3",
                "Encrypted": True, "DeleteOnTermination": True}}],
            "TagSpecifications": tag_specs(tags, "instance", "volume")}


def tree_commands(image_tree: bytes) -> list[str]:
    """Shell lines that unpack the bundle (a tar.gz of `salt/…`, `pillar/…`) into /srv."""
    text = base64.b64encode(image_tree).decode()
    if len(text) > MAX_TREE_B64:
        raise OperationFailed(f"the image state tree is {len(text) // 1024} KiB in base64; at "
                              f"most {MAX_TREE_B64 // 1024} KiB can be sent over SSM")
    tmp = "/root/argos-image-tree.b64"
    lines = [f"install -d -m 0700 /srv/salt /srv/pillar && rm -f {tmp} || exit 1"]
    lines += [f"printf '%s' '{text[i:i + CHUNK]}' >> {tmp} || exit 1"
              for i in range(0, len(text), CHUNK)]
    lines.append(f"base64 -d {tmp} | tar -xz -C /srv && rm -f {tmp} || exit 1")
    return lines


def bake_image(ctx: Context, want: Resource, executor: RemoteExecutor,
               image_tree: bytes | None) -> str:
    """Bake `want` and return the image id; never leaves its instance or group behind."""
    address, ec2 = want.address, ctx.clients.ec2
    shared = image_kind.shared_scope(ctx.scope)
    ctx.progress(address, "removing leftovers of earlier bakes")
    found = find_bake_leftovers(ctx.clients, shared)
    ready = [i for i in found.images if i.name == want.name and i.state == "available"]
    if ready:  # baked by an earlier run whose answer was lost
        return ready[0].image_id
    stale = tuple(i for i in found.images
                  if i.name == want.name and i.state in ("pending", "failed"))
    remove_bake_leftovers(ctx.clients, ctx.clock, BakeLeftovers(
        found.instances, found.security_groups, stale), images=True, timeout=ctx.timeout)

    # This bake's own token, set at creation on all it makes: a lost answer to a create
    # is met by finding what AWS made by that tag, never by making another.
    tags = {**bake_tags(want, ctx.scope), TAG_TOKEN: uuid.uuid4().hex}
    group_id = instance_id = None
    finished = False
    try:
        group_request = bake_group_request(want, tags,
                                           utc_stamp().replace("-", "").replace(":", ""))
        group_id = made_once(lambda: str(ec2.create_security_group(**group_request)["GroupId"]),
                             lambda: _made_group(ctx.clients, tags[TAG_TOKEN]))
        request = bake_instance_request(
            want, tags, group_id=group_id,
            instance_profile=ctx.outputs.id("instance_profile.shared"),
            root_device_name=root_device(ctx.clients, want.spec["base_ami"]))
        from argos_cloud.kinds.instance_profile import retry_iam_propagation

        instance_id = made_once(
            lambda: str(retry_iam_propagation(lambda: ec2.run_instances(**request), ctx,
                                              "bake")["Instances"][0]["InstanceId"]),
            lambda: _made_instance(ctx.clients, tags[TAG_TOKEN]))
        ctx.progress(address, f"waiting for bake instance {instance_id}")
        wait_running(ctx, instance_id, "bake instance")
        provision(ctx, want, executor, instance_id, image_tree)
        image_id = _create_image(ctx, want, instance_id, tags)
        finished = True
        return image_id
    finally:
        try:
            ctx.progress(address, "removing the bake instance and group")
            remove_bake_leftovers(ctx.clients, ctx.clock, BakeLeftovers(
                (instance_id,) if instance_id else (), (group_id,) if group_id else ()),
                images=False, timeout=ctx.timeout)
        except Exception as e:
            if finished:
                raise
            # The bake's own error matters more; `clean` removes what stays.
            ctx.note(f"bake cleanup failed ({e}); `argos-cloud clean` removes the leftovers")


def provision(ctx: Context, want: Resource, executor: RemoteExecutor, instance_id: str,
              image_tree: bytes | None) -> None:
    """Masterless Salt, the scrub, then a separate check that the scrub worked."""
    from argos_cloud.provision.userdata import (
        SCRUB_OK,
        image_bake_commands,
        scrub_check_command,
        scrub_leftovers,
    )

    commands = [*(tree_commands(image_tree) if image_tree is not None else []),
                *image_bake_commands(str(want.spec["salt_version"]))]
    ctx.progress(want.address, "running Salt on the bake instance")
    result = executor.run([instance_id], commands, comment=f"argos-cloud bake {want.name}",
                          timeout=BAKE_TIMEOUT)
    if not ctx.emulated and not result.ok:
        bad = result.failed[0] if result.failed else None
        raise OperationFailed(
            f"image bake: Salt run failed on {instance_id}: "
            f"{bad.status if bad else 'no answer'}, exit {bad.exit_code if bad else None}",
            detail=(bad.stderr or bad.stdout)[-2000:] if bad else None)
    check = executor.run([instance_id], [scrub_check_command()],
                         comment=f"argos-cloud scrub check {want.name}", timeout=300)
    out = check.stdout_of(instance_id)
    left = scrub_leftovers(out)
    if left == [] or (left is None and SCRUB_OK in out.split()):
        if ctx.clients.hosts:
            ctx.note("hosts sandbox: the image bake's Salt run and scrub check ran on a real "
                     f"machine ({instance_id}) and passed")
        return
    if ctx.emulated:
        ctx.note(EMULATOR_NOTE)
        return
    raise OperationFailed(
        f"image bake: the scrub check failed on {instance_id}: " +
        (f"still present: {' '.join(left[:20])}" if left
         else "the check printed no verdict (did it run?)"), detail=out[-2000:] or None)


def _create_image(ctx: Context, want: Resource, instance_id: str,
                  tags: dict[str, str]) -> str:
    from argos_cloud.waiting import wait_for

    ec2 = ctx.clients.ec2
    request = {"InstanceId": instance_id, "Name": want.name,
               "Description": f"argos-cloud {want.name}: base {want.spec['base_ami']}",
               "TagSpecifications": tag_specs(tags, "image")}
    image_id = made_once(lambda: str(ec2.create_image(**request)["ImageId"]),
                         lambda: _made_image(ctx.clients, tags[TAG_TOKEN]))
    ctx.progress(want.address, f"waiting for image {image_id}")

    def describe() -> dict[str, Any]:
        with tolerate("InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"):  # not yet seen
            return dict(ec2.describe_images(ImageIds=[image_id])["Images"][0])
        return {"State": "pending"}

    def failed(raw: dict[str, Any]) -> str | None:
        if raw.get("State") in ("failed", "error", "invalid", "deregistered"):
            return str(raw.get("StateReason", {}).get("Message") or raw["State"])
        return None

    raw = wait_for(describe, lambda r: r.get("State") == "available", failed=failed,
                   clock=ctx.clock, timeout=ctx.timeout, what=f"image {image_id}")
    snapshots = [m["Ebs"]["SnapshotId"] for m in raw.get("BlockDeviceMappings", [])
                 if m.get("Ebs", {}).get("SnapshotId")]
    if snapshots:  # snapshot TagSpecifications are not honoured everywhere: tag them here
        ec2.create_tags(Resources=snapshots, Tags=tag_list(tags))
    return image_id


def _by_token(token: str) -> list[dict[str, object]]:
    return [{"Name": f"tag:{TAG_TOKEN}", "Values": [token]}]


def _made_group(clients: Clients, token: str) -> str | None:
    """The bake group a create whose answer was lost made (by this bake's token)."""
    found = clients.ec2.describe_security_groups(Filters=_by_token(token))["SecurityGroups"]
    return str(found[0]["GroupId"]) if found else None


def _made_instance(clients: Clients, token: str) -> str | None:
    pages = clients.ec2.get_paginator("describe_instances").paginate(Filters=[
        *_by_token(token), {"Name": "instance-state-name", "Values": list(LIVE_STATES)}])
    found = [i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]]
    return str(found[0]) if found else None


def _made_image(clients: Clients, token: str) -> str | None:
    found = clients.ec2.describe_images(Owners=["self"], Filters=_by_token(token))["Images"]
    return str(found[0]["ImageId"]) if found else None
