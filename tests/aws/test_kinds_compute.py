"""Instances and the database's data volume on moto in-process."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.clock import FakeClock
from argos_cloud.config import EnvironmentSpec
from argos_cloud.errors import OperationFailed
from argos_cloud.kinds import instance, volume
from argos_cloud.kinds.base import Context, Outputs, client_token
from argos_cloud.model.desired import desired_resources
from argos_cloud.model.facts import Facts
from argos_cloud.model.names import (
    TAG_BAKE,
    TAG_ENVIRONMENT,
    TAG_MANAGED_BY,
    TAG_PROJECT,
    TAG_ROLE,
    TAG_USER_DATA,
    Scope,
    tag_dict,
    tag_list,
)
from argos_cloud.plan.types import Action, Actual, Change, Resource

pytestmark = pytest.mark.aws

ROLES = ("master", "database", "broker", "app", "worker")


# --- helpers ---

def base_ami(aws: Clients) -> str:
    return str(aws.ec2.register_image(
        Name="ubuntu-base", RootDeviceName="/dev/sda1",
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}])["ImageId"])


def make_spec(tmp_path: Path, ami: str, **overrides: Any) -> EnvironmentSpec:
    raw: dict[str, Any] = {
        "name": "qa", "project": "argos", "image": {"base_ami_id": ami},
        "source": {"repository": "git@example.com:argos.git",
                   "config_template": str(tmp_path / "config.tmpl"),
                   "celery_config_template": str(tmp_path / "celery.tmpl")}}
    raw.update(overrides)
    return EnvironmentSpec.model_validate(raw)


def make_facts(aws: Clients, ami: str) -> Facts:
    vpc = aws.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = sorted(aws.ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"],
        key=lambda s: s["AvailabilityZone"])
    return Facts(account_id="123456789012", region=aws.region, vpc_id=vpc["VpcId"],
                 vpc_cidr=vpc["CidrBlock"], subnet_ids=tuple(s["SubnetId"] for s in subnets),
                 availability_zones=tuple(s["AvailabilityZone"] for s in subnets),
                 base_ami_id=ami, image_digest="d" * 64, emulated=True)


def desired(spec: EnvironmentSpec, facts: Facts, **user_data: str) -> dict[str, Resource]:
    data = {role: f"#!/bin/sh\necho {role}\n" for role in ROLES} | user_data
    return {r.address: r for r in desired_resources(spec, facts, data, "0" * 16)}


@dataclasses.dataclass
class World:
    aws: Clients
    scope: Scope
    ctx: Context
    want: dict[str, Resource]
    spec: EnvironmentSpec
    facts: Facts


@pytest.fixture
def world(aws: Clients, scope: Scope, tmp_path: Path) -> World:
    """A context whose security groups and instance profile exist (moto checks both)."""
    ami = base_ami(aws)
    spec, facts = make_spec(tmp_path, ami), make_facts(aws, ami)
    outputs = Outputs()
    for role in ("master", "database", "broker"):
        group = aws.ec2.create_security_group(GroupName=f"sg-{role}", Description="t",
                                              VpcId=facts.vpc_id)["GroupId"]
        outputs.set(f"security_group.{role}", group)
    aws.iam.create_instance_profile(InstanceProfileName="argos-qa-instances")
    outputs.set("instance_profile.shared", "argos-qa-instances")
    ctx = Context(clients=aws, scope=scope, spec=spec, facts=facts, outputs=outputs,
                  clock=FakeClock())
    return World(aws, scope, ctx, desired(spec, facts), spec, facts)


def only(actuals: list[Actual], address: str) -> Actual:
    found = [a for a in actuals if a.address == address]
    assert len(found) == 1, found
    return found[0]


def describe(aws: Clients, instance_id: str) -> dict[str, Any]:
    return dict(aws.ec2.describe_instances(
        InstanceIds=[instance_id])["Reservations"][0]["Instances"][0])


def create(ctx: Context, module: Any, want: Resource) -> str:
    return str(module.apply(ctx, Change.create(want)))


# --- request builders ---

def test_run_instances_request_requires_imdsv2_and_tags_everything(world: World) -> None:
    want = world.want["instance.master"]
    request = instance.run_instances_request(
        want, world.scope, security_group_id="sg-1", instance_profile="argos-qa-instances",
        token="tok", root_device="/dev/sda1")
    tags = world.scope.tags("master")
    assert request == {
        "ImageId": world.facts.base_ami_id, "InstanceType": "t3.small",
        "MinCount": 1, "MaxCount": 1, "ClientToken": "tok",
        "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
        "IamInstanceProfile": {"Name": "argos-qa-instances"},
        "SecurityGroupIds": ["sg-1"], "SubnetId": world.facts.first_subnet,
        "UserData": "#!/bin/sh\necho master\n",
        "BlockDeviceMappings": [{"DeviceName": "/dev/sda1", "Ebs": {
            "VolumeSize": 16, "VolumeType": "gp3", "Encrypted": True,
            "DeleteOnTermination": True}}],
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": tag_list(
                {**tags, TAG_USER_DATA: want.spec["user_data_digest"]})},
            {"ResourceType": "volume", "Tags": tag_list(tags)}],
    }


def test_client_token_is_stable_and_follows_the_spec(world: World) -> None:
    want = world.want["instance.broker"]
    token = client_token(world.scope, want.address, want.spec)
    assert token == client_token(world.scope, want.address, want.spec) and len(token) <= 64
    other = dataclasses.replace(want, spec={**want.spec, "instance_type": "t3.large"})
    assert client_token(world.scope, other.address, other.spec) != token


# --- instances ---

def test_master_create_then_read_finds_it_and_diff_is_noop(world: World) -> None:
    want = world.want["instance.master"]
    instance_id = create(world.ctx, instance, want)
    have = only(instance.read(world.aws, world.scope), "instance.master")
    assert have.id == instance_id
    assert have.attrs["instance_type"] == "t3.small"
    assert have.attrs["image_id"] == world.facts.base_ami_id
    assert have.attrs["state"] == "running"
    assert have.attrs["subnet"] == world.facts.first_subnet
    assert have.attrs["security_groups"] == [world.ctx.outputs.id("security_group.master")]
    assert have.attrs["user_data_digest"] == want.spec["user_data_digest"]
    assert instance.diff(want, have).action is Action.NOOP
    raw = describe(world.aws, instance_id)
    assert raw["MetadataOptions"]["HttpTokens"] == "required"
    tags = tag_dict(raw["Tags"])
    assert (tags[TAG_PROJECT], tags[TAG_ENVIRONMENT], tags[TAG_ROLE], tags[TAG_MANAGED_BY]) == (
        "argos", "qa", "master", "argos-cloud")
    root = raw["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
    volume_tags = tag_dict(world.aws.ec2.describe_volumes(VolumeIds=[root])["Volumes"][0]["Tags"])
    assert volume_tags[TAG_ROLE] == "master"
    # minions find the master through SSM; the outputs carry its address for dependants
    ip = world.aws.ssm.get_parameter(Name=world.scope.parameter("master-address"))
    assert ip["Parameter"]["Value"] == raw["PrivateIpAddress"]
    assert world.ctx.outputs.attr("instance.master", "private_ip") == raw["PrivateIpAddress"]


@pytest.mark.parametrize(("field", "value"), [("instance_type", "t3.large"),
                                               ("image_id", "ami-0123456789abcdef0"),
                                               ("user_data_digest", "f" * 16)])
def test_a_change_of_what_aws_cannot_change_is_a_replace(world: World, field: str,
                                                          value: str) -> None:
    want = world.want["instance.broker"]
    create(world.ctx, instance, want)
    have = only(instance.read(world.aws, world.scope), "instance.broker")
    change = instance.diff(dataclasses.replace(want, spec={**want.spec, field: value}), have)
    assert change.action is Action.REPLACE
    assert change.fields == (field,) and field in change.reason


def test_replace_terminates_the_old_instance_and_launches_the_new_type(world: World) -> None:
    want = world.want["instance.broker"]
    old = create(world.ctx, instance, want)
    bigger = dataclasses.replace(want, spec={**want.spec, "instance_type": "t3.large"})
    have = only(instance.read(world.aws, world.scope), "instance.broker")
    new = instance.apply(world.ctx, instance.diff(bigger, have))
    assert new != old
    assert describe(world.aws, old)["State"]["Name"] == "terminated"
    have = only(instance.read(world.aws, world.scope), "instance.broker")
    assert (have.id, have.attrs["instance_type"]) == (new, "t3.large")


def test_read_leaves_out_group_members_and_bake_instances_but_keeps_duplicates(
        world: World) -> None:
    want = world.want["instance.broker"]
    first, second = create(world.ctx, instance, want), create(world.ctx, instance, want)
    member = create(world.ctx, instance, world.want["instance.master"])
    world.aws.ec2.create_tags(Resources=[member], Tags=[
        {"Key": "aws:autoscaling:groupName", "Value": "argos-qa-app"}])
    bake = world.aws.ec2.run_instances(
        ImageId=world.facts.base_ami_id, MinCount=1, MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list(
            world.scope.tags("image", **{TAG_BAKE: "d" * 64}))}])["Instances"][0]["InstanceId"]
    ids = {a.id for a in instance.read(world.aws, world.scope)}
    assert ids == {first, second}
    assert member not in ids and bake not in ids


def test_delete_terminates_and_read_then_finds_nothing(world: World) -> None:
    instance_id = create(world.ctx, instance, world.want["instance.broker"])
    have = only(instance.read(world.aws, world.scope), "instance.broker")
    instance.delete(world.ctx, have)
    instance.delete(world.ctx, have)  # gone counts as done
    assert describe(world.aws, instance_id)["State"]["Name"] == "terminated"
    assert instance.read(world.aws, world.scope) == []


# --- the database and its data volume ---

def test_database_create_attaches_the_data_volume_and_replace_keeps_it(world: World) -> None:
    volume_id = create(world.ctx, volume, world.want["volume.database.data"])
    want = world.want["instance.database"]
    old = create(world.ctx, instance, want)
    have = only(instance.read(world.aws, world.scope), "instance.database")
    assert have.attrs["data_volume"] == volume_id
    assert instance.diff(want, have).action is Action.NOOP
    mapping = {m["DeviceName"]: m["Ebs"] for m in describe(world.aws, old)["BlockDeviceMappings"]}
    assert mapping["/dev/sdf"]["VolumeId"] == volume_id
    assert mapping["/dev/sdf"]["DeleteOnTermination"] is False  # survives its instance

    bigger = dataclasses.replace(want, spec={**want.spec, "instance_type": "t3.large"})
    new = instance.apply(world.ctx, instance.diff(bigger, have))
    assert describe(world.aws, old)["State"]["Name"] == "terminated"
    have = only(instance.read(world.aws, world.scope), "instance.database")
    assert (have.id, have.attrs["data_volume"]) == (new, volume_id)
    data = only(volume.read(world.aws, world.scope), "volume.database.data")
    assert (data.id, data.attrs["attached_to"]) == (volume_id, new)


def test_database_without_its_volume_is_updated_by_attaching_it(world: World) -> None:
    volume_id = create(world.ctx, volume, world.want["volume.database.data"])
    want = world.want["instance.database"]
    without = dataclasses.replace(want, spec={k: v for k, v in want.spec.items()
                                             if k != "data_volume"})
    instance_id = create(world.ctx, instance, without)
    have = only(instance.read(world.aws, world.scope), "instance.database")
    change = instance.diff(want, have)
    assert (change.action, change.reason) == (Action.UPDATE, "data volume not attached")
    assert instance.apply(world.ctx, change) == instance_id
    have = only(instance.read(world.aws, world.scope), "instance.database")
    assert have.attrs["data_volume"] == volume_id


def test_a_volume_attached_elsewhere_is_never_taken(world: World) -> None:
    create(world.ctx, volume, world.want["volume.database.data"])
    create(world.ctx, instance, world.want["instance.database"])
    with pytest.raises(OperationFailed, match="attached to"):
        create(world.ctx, instance, world.want["instance.database"])


def test_deleting_the_database_keeps_its_data_volume(world: World) -> None:
    volume_id = create(world.ctx, volume, world.want["volume.database.data"])
    create(world.ctx, instance, world.want["instance.database"])
    instance.delete(world.ctx, only(instance.read(world.aws, world.scope), "instance.database"))
    data = only(volume.read(world.aws, world.scope), "volume.database.data")
    assert (data.id, data.attrs["state"], data.attrs["attached_to"]) == (
        volume_id, "available", None)


def test_volume_create_then_read_is_tagged_encrypted_and_noop(world: World) -> None:
    want = world.want["volume.database.data"]
    volume_id = create(world.ctx, volume, want)
    have = only(volume.read(world.aws, world.scope), "volume.database.data")
    assert have.id == volume_id and have.key == "data" and have.role == "database"
    assert (have.attrs["size"], have.attrs["zone"], have.attrs["type"]) == (
        20, world.facts.first_zone, "gp3")
    assert have.attrs["encrypted"] is True
    assert have.tags[TAG_ENVIRONMENT] == "qa" and have.name == want.name
    assert volume.diff(want, have).action is Action.NOOP
    assert world.ctx.outputs.id("volume.database.data") == volume_id


def test_root_volumes_are_not_data_volumes(world: World) -> None:
    create(world.ctx, instance, world.want["instance.broker"])
    assert volume.read(world.aws, world.scope) == []


def test_volume_grows_but_never_shrinks_or_moves(world: World) -> None:
    want = world.want["volume.database.data"]
    create(world.ctx, volume, want)
    have = only(volume.read(world.aws, world.scope), "volume.database.data")
    smaller = volume.diff(dataclasses.replace(want, spec={**want.spec, "size": 10}), have)
    assert (smaller.action, smaller.reason) == (Action.NOOP,
                                                "volumes cannot shrink; keeping 20 GiB")
    moved = volume.diff(dataclasses.replace(want, spec={**want.spec, "zone": "us-east-1f"}),
                        have)
    assert moved.action is Action.NOOP and "never replaced" in moved.reason
    grown = volume.diff(dataclasses.replace(want, spec={**want.spec, "size": 50}), have)
    assert (grown.action, grown.fields) == (Action.UPDATE, ("size",))
    volume.apply(world.ctx, grown)
    assert only(volume.read(world.aws, world.scope), "volume.database.data").attrs["size"] == 50


def test_volume_delete_detaches_first(world: World) -> None:
    volume_id = create(world.ctx, volume, world.want["volume.database.data"])
    create(world.ctx, instance, world.want["instance.database"])
    volume.delete(world.ctx, only(volume.read(world.aws, world.scope), "volume.database.data"))
    assert volume.read(world.aws, world.scope) == []
    found = world.aws.ec2.describe_volumes(
        Filters=[{"Name": "volume-id", "Values": [volume_id]}])["Volumes"]
    assert found == []


def test_final_snapshot_is_completed_and_tagged(world: World) -> None:
    volume_id = create(world.ctx, volume, world.want["volume.database.data"])
    have = only(volume.read(world.aws, world.scope), "volume.database.data")
    snapshot_id = volume.final_snapshot(world.ctx, have, reason="decommission of qa")
    snap = world.aws.ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0]
    tags = tag_dict(snap["Tags"])
    assert snap["VolumeId"] == volume_id and snap["State"] == "completed"
    assert (tags[TAG_ROLE], tags[TAG_ENVIRONMENT], tags[TAG_PROJECT]) == (
        "database", "qa", "argos")
    assert tags[volume.TAG_FINAL_SNAPSHOT].endswith("Z")
    assert tags["Name"].startswith("argos-qa-database-final-")
    assert "decommission of qa" in snap["Description"]


def test_a_second_final_snapshot_of_one_volume_reuses_the_first(world: World) -> None:
    """An interrupted decommission re-run must not pile up snapshots, each billed until deleted."""
    volume_id = create(world.ctx, volume, world.want["volume.database.data"])
    have = only(volume.read(world.aws, world.scope), "volume.database.data")
    first = volume.final_snapshot(world.ctx, have, reason="decommission of qa")
    again = volume.final_snapshot(world.ctx, have, reason="decommission of qa")
    assert again == first
    snaps = world.aws.ec2.describe_snapshots(OwnerIds=["self"], Filters=[
        {"Name": "volume-id", "Values": [volume_id]}])["Snapshots"]
    assert [s["SnapshotId"] for s in snaps] == [first]
