"""Clean on moto in-process: a bake's leftovers, made by hand with the bake's tags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.cli.views.teardown import clean_plan_lines, clean_result_lines
from argos_cloud.clock import FakeClock
from argos_cloud.config.schema import EnvironmentSpec, ImageConfig, SourceConfig
from argos_cloud.errors import ExitStatus, Refused
from argos_cloud.kinds import image as image_kind
from argos_cloud.model.names import TAG_BAKE, Scope, tag_specifications
from argos_cloud.workflows.clean import clean, plan_clean
from argos_cloud.workflows.session import Session

pytestmark = pytest.mark.aws

BASE_AMI = "ami-0123456789abcdef0"
BAKE = {TAG_BAKE: "b" * 16}


def session_for(clients: Clients, tmp_path: Path) -> Session:
    spec = EnvironmentSpec(
        name="qa", project="argos", image=ImageConfig(base_ami_id=BASE_AMI),
        source=SourceConfig(repository="https://example.invalid/argos.git",
                            config_template=Path("config.tmpl"),
                            celery_config_template=Path("celery.tmpl")))
    return Session(spec=spec, clients=clients, state_dir=tmp_path, clock=FakeClock())


def make_bake(clients: Clients, project: str = "argos", *,
              instance_left: bool = True) -> dict[str, object]:
    """What an interrupted bake leaves: its instance, its group, an image with snapshots."""
    ec2, shared = clients.ec2, Scope(project, None)
    tags = shared.tags("image", **BAKE)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
    group = ec2.create_security_group(
        GroupName=f"{project}-image-bake", Description="bake", VpcId=vpc["VpcId"],
        TagSpecifications=tag_specifications(tags, "security-group"))["GroupId"]
    instance = ec2.run_instances(
        ImageId=BASE_AMI, MinCount=1, MaxCount=1, SecurityGroupIds=[group],
        TagSpecifications=tag_specifications(tags, "instance"))["Instances"][0]["InstanceId"]
    image = ec2.create_image(InstanceId=instance, Name=f"{project}-image-{'b' * 16}",
                             TagSpecifications=tag_specifications(tags, "image"))["ImageId"]
    raw = ec2.describe_images(ImageIds=[image])["Images"][0]
    snapshots = [m["Ebs"]["SnapshotId"] for m in raw["BlockDeviceMappings"] if "Ebs" in m]
    if not instance_left:
        ec2.terminate_instances(InstanceIds=[instance])
    return {"group": group, "instance": instance, "image": image, "snapshots": snapshots}


def template_using(clients: Clients, image_id: str, environment: str) -> str:
    scope = Scope("argos", environment)
    return str(clients.ec2.create_launch_template(
        LaunchTemplateName=scope.name("app"),
        LaunchTemplateData={"ImageId": image_id, "InstanceType": "t3.small"},
        TagSpecifications=tag_specifications(scope.tags("app"), "launch-template"),
    )["LaunchTemplate"]["LaunchTemplateId"])


def test_clean_removes_the_instance_group_image_and_snapshots(aws: Clients,
                                                              tmp_path: Path) -> None:
    bake = make_bake(aws)
    other = make_bake(aws, "other")  # another project's bake stays
    session = session_for(aws, tmp_path)
    plan = plan_clean(session)
    assert not plan.empty
    assert plan.leftovers.instances == (bake["instance"],)
    assert plan.leftovers.security_groups == (bake["group"],)
    assert [i.image_id for i in plan.leftovers.images] == [bake["image"]]

    result = clean(session, plan)

    assert result.ok, clean_result_lines(result)
    ec2 = aws.ec2
    state = ec2.describe_instances(InstanceIds=[bake["instance"]])["Reservations"][0]
    assert state["Instances"][0]["State"]["Name"] == "terminated"
    assert ec2.describe_security_groups(
        Filters=[{"Name": "group-id", "Values": [bake["group"]]}])["SecurityGroups"] == []
    assert image_kind.read(aws, Scope("argos", None)) == []
    snapshots = bake["snapshots"]
    assert isinstance(snapshots, list) and snapshots
    assert ec2.describe_snapshots(
        Filters=[{"Name": "snapshot-id", "Values": snapshots}])["Snapshots"] == []
    assert [i.id for i in image_kind.read(aws, Scope("other", None))] == [other["image"]]
    assert "nothing of argos's image bake remains" in clean_result_lines(result)
    assert json.loads(json.dumps(result.to_json()))["ok"] is True


def test_clean_refuses_while_a_launch_template_uses_the_image(aws: Clients,
                                                              tmp_path: Path) -> None:
    bake = make_bake(aws, instance_left=False)
    template_using(aws, str(bake["image"]), "staging")
    template_using(aws, str(bake["image"]), "qa")
    session = session_for(aws, tmp_path)
    with pytest.raises(Refused, match="qa, staging") as refused:
        plan_clean(session)
    assert refused.value.exit_status is ExitStatus.REFUSED
    assert [i.id for i in image_kind.read(aws, Scope("argos", None))] == [bake["image"]]


def test_clean_with_force_removes_an_image_in_use(aws: Clients, tmp_path: Path) -> None:
    bake = make_bake(aws, instance_left=False)
    template_using(aws, str(bake["image"]), "qa")
    session = session_for(aws, tmp_path)
    plan = plan_clean(session, force=True)
    assert plan.in_use == {bake["image"]: ["qa"]}
    assert any("still used" in line for line in clean_plan_lines(plan))
    result = clean(session, plan)
    assert result.ok and image_kind.read(aws, Scope("argos", None)) == []


def test_clean_with_nothing_to_clean_says_so(aws: Clients, tmp_path: Path) -> None:
    session = session_for(aws, tmp_path)
    plan = plan_clean(session)
    assert plan.empty
    result = clean(session, plan)
    assert result.ok and result.removed == []
    assert clean_result_lines(result)[0].startswith("nothing to clean")


def test_clean_is_refused_while_the_environment_is_locked(aws: Clients,
                                                          tmp_path: Path) -> None:
    from argos_cloud.errors import LockHeld

    bake = make_bake(aws, instance_left=False)
    session = session_for(aws, tmp_path)
    plan = plan_clean(session)
    held = session.lock("commission")  # a commission of this environment is baking
    held.acquire()
    try:
        with pytest.raises(LockHeld, match="commission"):
            clean(session, plan)
    finally:
        held.release()
    assert [i.id for i in image_kind.read(aws, Scope("argos", None))] == [bake["image"]]
    assert clean(session, plan).ok
    entry = session.journal(scope=Scope("argos", None)).entries(limit=1)[0]
    assert (entry.command, entry.result) == ("clean", "succeeded")
