"""The image kind, the bake and its cleanup, and SSM remote execution, on moto in-process.

moto runs nothing that SSM sends, so the bake's Salt run and scrub check are
answered by a FakeExecutor where their output matters.
"""

from __future__ import annotations

import dataclasses
import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.clock import FakeClock
from argos_cloud.config import EnvironmentSpec
from argos_cloud.errors import OperationFailed
from argos_cloud.kinds import image
from argos_cloud.kinds.base import Context, Outputs
from argos_cloud.model.desired import desired_resources
from argos_cloud.model.facts import Facts
from argos_cloud.model.names import (
    TAG_BAKE,
    TAG_ENVIRONMENT,
    TAG_PROJECT,
    TAG_ROLE,
    Scope,
    tag_dict,
    tag_list,
)
from argos_cloud.plan.types import Action, Actual, Change, Resource
from argos_cloud.provision import bake
from argos_cloud.provision.remote import FakeExecutor, InvocationResult, SsmExecutor
from argos_cloud.provision.userdata import scrub_check_command

pytestmark = pytest.mark.aws

DIGEST = "d" * 64
ROLES = ("master", "database", "broker", "app", "worker")


def scrub_ok(instance_id: str, commands: list[str]) -> str:
    return "ARGOS-SCRUB-OK\n" if any("ARGOS-SCRUB" in c for c in commands) else "salt ok\n"


def scrub_left(instance_id: str, commands: list[str]) -> str:
    return "ARGOS-SCRUB-LEFT: /srv/pillar /root/.bash_history\n" \
        if any("ARGOS-SCRUB" in c for c in commands) else "salt ok\n"


def state_tree() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        body = b"image-packages:\n  pkg.installed: []\n"
        info = tarfile.TarInfo("image/init.sls")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


@dataclasses.dataclass
class World:
    aws: Clients
    ctx: Context
    want: Resource
    facts: Facts


def make_world(aws: Clients, scope: Scope, tmp_path: Path, digest: str = DIGEST) -> World:
    ami = str(aws.ec2.register_image(
        Name="ubuntu-base", RootDeviceName="/dev/sda1",
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}])["ImageId"])
    spec = EnvironmentSpec.model_validate({
        "name": "qa", "project": "argos", "image": {"base_ami_id": ami},
        "source": {"repository": "git@example.com:argos.git",
                   "config_template": str(tmp_path / "c"),
                   "celery_config_template": str(tmp_path / "c")}})
    vpc = aws.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = aws.ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    facts = Facts("123456789012", aws.region, vpc["VpcId"], vpc["CidrBlock"],
                  tuple(s["SubnetId"] for s in subnets),
                  tuple(s["AvailabilityZone"] for s in subnets), ami, digest, aws.emulated)
    aws.iam.create_instance_profile(InstanceProfileName="argos-qa-instances")
    outputs = Outputs({"instance_profile.shared": "argos-qa-instances"})
    ctx = Context(clients=aws, scope=scope, spec=spec, facts=facts, outputs=outputs,
                  clock=FakeClock())
    user_data = {role: "#!/bin/sh\n" for role in ROLES}
    want = next(r for r in desired_resources(spec, facts, user_data, "0" * 16)
                if r.kind == "image")
    return World(aws, ctx, want, facts)


@pytest.fixture
def world(aws: Clients, scope: Scope, tmp_path: Path) -> World:
    return make_world(aws, scope, tmp_path)


def bake_instances(aws: Clients) -> dict[str, str]:
    """Every bake instance ever made (terminated ones stay visible), id → state."""
    pages = aws.ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "tag-key", "Values": [TAG_BAKE]}])
    return {i["InstanceId"]: i["State"]["Name"] for p in pages for r in p["Reservations"]
            for i in r["Instances"]}


def bake_groups(aws: Clients) -> list[str]:
    return [g["GroupId"] for g in aws.ec2.describe_security_groups(
        Filters=[{"Name": f"tag:{TAG_ROLE}", "Values": ["image"]}])["SecurityGroups"]]


def images(aws: Clients) -> dict[str, dict[str, Any]]:
    return {i["ImageId"]: i for i in aws.ec2.describe_images(Owners=["self"])["Images"]}


def snapshot_tags(aws: Clients, snapshot_id: str) -> dict[str, str]:
    snap = aws.ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0]
    return tag_dict(snap.get("Tags"))


def apply_bake(w: World, executor: Any, tree: bytes | None = None) -> str:
    def baker(ctx: Context, want: Resource) -> str:
        return bake.bake_image(ctx, want, executor, tree)

    return image.apply(dataclasses.replace(w.ctx, bake=baker), Change.create(w.want))


def as_real(w: World) -> World:
    """The same moto, but the context believes it is AWS (outputs must then be proof)."""
    clients = dataclasses.replace(w.aws, emulated=False)
    return dataclasses.replace(w, aws=clients, ctx=dataclasses.replace(w.ctx, clients=clients))


# --- the bake ---

def test_bake_on_the_emulator_makes_a_tagged_image_and_leaves_nothing(world: World) -> None:
    executor = FakeExecutor(emulated=True)
    image_id = apply_bake(world, executor, state_tree())
    raw = images(world.aws)[image_id]
    tags = tag_dict(raw["Tags"])
    assert raw["State"] == "available" and raw["Name"] == world.want.name
    assert (tags[TAG_PROJECT], tags[TAG_ROLE], tags[TAG_BAKE]) == ("argos", "image", DIGEST)
    assert TAG_ENVIRONMENT not in tags  # shared by all environments of the project
    snapshots = [m["Ebs"]["SnapshotId"] for m in raw["BlockDeviceMappings"]]
    assert snapshots and all(snapshot_tags(world.aws, s)[TAG_BAKE] == DIGEST for s in snapshots)
    # the temporary instance and group are gone
    assert list(bake_instances(world.aws).values()) == ["terminated"]
    assert bake_groups(world.aws) == []
    # what was sent: the tree, the Salt run with the scrub, then the separate check
    first, check = executor.sent
    assert any("base64 -d" in c and "tar -xz -C /srv " in c for c in first.commands)
    assert any("salt-call --local" in c for c in first.commands)
    assert check.commands == (scrub_check_command(),)
    assert bake.EMULATOR_NOTE in world.ctx.notes
    assert world.ctx.outputs.id("image.image") == image_id


def test_bake_instance_requires_imdsv2_and_carries_the_bake_tags(world: World) -> None:
    tags = bake.bake_tags(world.want, world.ctx.scope)
    request = bake.bake_instance_request(world.want, tags, group_id="sg-1",
                                         instance_profile="argos-qa-instances",
                                         root_device_name="/dev/sda1")
    assert request["MetadataOptions"] == {"HttpTokens": "required", "HttpEndpoint": "enabled"}
    assert request["ImageId"] == world.facts.base_ami_id
    assert request["IamInstanceProfile"] == {"Name": "argos-qa-instances"}
    assert request["TagSpecifications"] == [
        {"ResourceType": "instance", "Tags": tag_list(tags)},
        {"ResourceType": "volume", "Tags": tag_list(tags)}]
    assert tags[TAG_BAKE] == DIGEST and TAG_ENVIRONMENT not in tags


def test_bake_on_real_aws_fails_without_the_scrub_marker_and_still_cleans_up(
        world: World) -> None:
    real = as_real(world)
    with pytest.raises(OperationFailed, match="scrub check"):
        apply_bake(real, FakeExecutor())  # empty output: the check did not prove anything
    assert list(bake_instances(real.aws).values()) == ["terminated"]
    assert bake_groups(real.aws) == []
    assert image.read(real.aws, real.ctx.scope) == []
    assert bake.EMULATOR_NOTE not in real.ctx.notes


def test_the_scrub_failure_names_what_remained(world: World) -> None:
    with pytest.raises(OperationFailed, match=r"still present: /srv/pillar /root/.bash_history"):
        apply_bake(as_real(world), FakeExecutor(scrub_left))


def test_a_failed_salt_run_fails_the_bake_on_real_aws(world: World) -> None:
    def failing(instance_id: str, commands: list[str]) -> InvocationResult:
        return InvocationResult(instance_id, "Failed", "", "pkg.installed: False", 1)

    with pytest.raises(OperationFailed, match="Salt run failed") as caught:
        apply_bake(as_real(world), FakeExecutor(failing))
    assert "pkg.installed" in (caught.value.detail or "")
    assert bake_groups(world.aws) == []


def test_bake_on_real_aws_with_the_marker_succeeds_without_a_note(world: World) -> None:
    real = as_real(world)
    image_id = apply_bake(real, FakeExecutor(scrub_ok))
    assert images(real.aws)[image_id]["State"] == "available"
    assert real.ctx.notes == []


def test_an_interrupted_bake_still_removes_its_instance_and_group(world: World) -> None:
    def interrupt(instance_id: str, commands: list[str]) -> str:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        apply_bake(world, FakeExecutor(interrupt))
    assert list(bake_instances(world.aws).values()) == ["terminated"]
    assert bake_groups(world.aws) == []


def leave_a_failed_bake(w: World) -> tuple[str, str, str, list[str]]:
    """What a killed bake leaves: a live instance, its group, and a failed image."""
    from moto.ec2.models import ec2_backends

    tags = bake.bake_tags(w.want, w.ctx.scope) | {TAG_BAKE: "e" * 64}
    group = w.aws.ec2.create_security_group(
        GroupName="old-bake", Description="t", VpcId=w.facts.vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(tags)}])["GroupId"]
    instance_id = w.aws.ec2.run_instances(
        ImageId=w.facts.base_ami_id, MinCount=1, MaxCount=1, SecurityGroupIds=[group],
        TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list(tags)}],
    )["Instances"][0]["InstanceId"]
    image_id = w.aws.ec2.create_image(
        InstanceId=instance_id, Name=w.want.name,
        TagSpecifications=[{"ResourceType": "image", "Tags": tag_list(tags)}])["ImageId"]
    ec2_backends["123456789012"]["us-east-1"].amis[image_id].state = "failed"
    snaps = [m["Ebs"]["SnapshotId"] for m in images(w.aws)[image_id]["BlockDeviceMappings"]]
    return instance_id, group, image_id, snaps


def test_leftovers_of_a_failed_bake_are_removed_before_the_next(world: World) -> None:
    old_instance, old_group, old_image, old_snaps = leave_a_failed_bake(world)
    new_image = apply_bake(world, FakeExecutor(emulated=True))
    assert old_image not in images(world.aws)
    assert bake_instances(world.aws)[old_instance] == "terminated"
    assert old_group not in bake_groups(world.aws) and bake_groups(world.aws) == []
    assert set(images(world.aws)) - {world.facts.base_ami_id} == {new_image}
    found = world.aws.ec2.describe_snapshots(
        Filters=[{"Name": "snapshot-id", "Values": old_snaps}])["Snapshots"]
    assert found == []


def test_an_available_image_of_the_same_bake_is_adopted_not_rebaked(world: World) -> None:
    first = apply_bake(world, FakeExecutor(emulated=True))
    executor = FakeExecutor(emulated=True)
    assert apply_bake(world, executor) == first
    assert executor.sent == []


def test_clean_finds_and_removes_bake_leftovers_and_images(world: World) -> None:
    baked = apply_bake(world, FakeExecutor(emulated=True))
    old_instance, old_group, _, _ = leave_a_failed_bake(world)
    scope = world.ctx.scope
    leftovers = bake.find_bake_leftovers(world.aws, scope)
    assert (leftovers.instances, leftovers.security_groups) == ((old_instance,), (old_group,))
    assert baked in {i.image_id for i in leftovers.images}
    kept = bake.remove_bake_leftovers(world.aws, world.ctx.clock, leftovers, images=False)
    assert len(kept) == 2 and baked in images(world.aws)
    removed = bake.remove_bake_leftovers(world.aws, world.ctx.clock,
                                         bake.find_bake_leftovers(world.aws, scope), images=True)
    assert any(baked in line for line in removed)
    assert bake.find_bake_leftovers(world.aws, scope).empty


def test_state_tree_larger_than_ssm_allows_is_refused() -> None:
    import os

    with pytest.raises(OperationFailed, match="KiB"):
        bake.tree_commands(os.urandom(bake.MAX_TREE_B64))


# --- the image kind ---

def test_existing_image_with_the_digest_is_a_noop_and_another_digest_bakes(
        world: World) -> None:
    image_id = apply_bake(world, FakeExecutor(emulated=True))
    (have,) = image.read(world.aws, world.ctx.scope)
    assert (have.id, have.attrs["digest"], have.attrs["state"]) == (image_id, DIGEST, "available")
    assert have.attrs["snapshots"]
    change = image.diff(world.want, have)
    assert (change.action, change.reason) == (
        Action.NOOP, "image for this base AMI and image states exists")
    newer = dataclasses.replace(world.want, name="argos-image-eeee",
                                spec={**world.want.spec, "digest": "e" * 64})
    assert image.diff(newer, have).action is Action.CREATE
    assert image.match(newer, [have]) == [] and image.match(world.want, [have]) == [have]


def test_images_are_read_from_any_environment_of_the_project(world: World) -> None:
    apply_bake(world, FakeExecutor(emulated=True))
    assert len(image.read(world.aws, Scope("argos", "staging"))) == 1
    assert image.read(world.aws, Scope("other", "qa")) == []


def test_image_delete_deregisters_and_deletes_its_snapshots(world: World) -> None:
    apply_bake(world, FakeExecutor(emulated=True))
    (have,) = image.read(world.aws, world.ctx.scope)
    image.delete(world.ctx, have)
    image.delete(world.ctx, have)  # gone counts as done
    assert image.read(world.aws, world.ctx.scope) == []
    found = world.aws.ec2.describe_snapshots(
        Filters=[{"Name": "snapshot-id", "Values": list(have.attrs["snapshots"])}])
    assert found["Snapshots"] == []


def test_an_image_of_this_bake_still_pending_is_baked_again(world: World) -> None:
    have = Actual("image", "image", "ami-1", world.want.name,
                  attrs={"digest": DIGEST, "state": "pending"})
    assert image.diff(world.want, have).action is Action.CREATE


# --- SSM remote execution ---

def test_ssm_executor_sends_run_shell_script_and_reports_emulated(world: World) -> None:
    instance_id = world.aws.ec2.run_instances(
        ImageId=world.facts.base_ami_id, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    executor = SsmExecutor(world.aws, FakeClock())
    assert executor.send_request([instance_id], ["echo hi"], comment="x" * 150,
                                 timeout=600) == {
        "DocumentName": "AWS-RunShellScript", "InstanceIds": [instance_id],
        "Parameters": {"commands": ["#!/bin/bash", "echo hi"], "executionTimeout": ["600"]},
        "Comment": "x" * 100}
    result = executor.run([instance_id], ["echo hi"], comment="test", timeout=600)
    assert result.emulated is True and result.ok
    assert [(i.instance_id, i.status) for i in result.invocations] == [(instance_id, "Success")]
    assert [(s.command_id, s.commands) for s in executor.sent] == [
        (result.command_id, ("echo hi",))]
