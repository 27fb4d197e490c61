"""Decommission on moto in-process: environments built by hand with the tool's tags.

The commission workflow is not used to build them, so these tests prove that
decommission needs nothing but tags. moto checks no dependency on delete: the
order is asserted in tests/unit/test_teardown_order.py; here DependencyViolation
is injected to prove the retry.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.cli.views.teardown import decommission_plan_lines, decommission_result_lines
from argos_cloud.clock import FakeClock
from argos_cloud.config.schema import EnvironmentSpec, ImageConfig, SourceConfig
from argos_cloud.discovery import discover
from argos_cloud.engine.events import Event, StepSucceeded
from argos_cloud.errors import LockHeld, Refused
from argos_cloud.kinds import image as image_kind
from argos_cloud.kinds.volume import TAG_FINAL_SNAPSHOT, TAG_VOLUME
from argos_cloud.model.desired import bucket_name
from argos_cloud.model.names import (
    TAG_BAKE,
    TAG_ENVIRONMENT,
    TAG_ROLE,
    Scope,
    tag_dict,
    tag_list,
    tag_specifications,
)
from argos_cloud.sandbox.faults import Faults
from argos_cloud.workflows.decommission import (
    EMULATOR_ORDER_NOTE,
    decommission,
    environment_kinds,
    plan_decommission,
)
from argos_cloud.workflows.session import Session

pytestmark = pytest.mark.aws

BASE_AMI = "ami-0123456789abcdef0"
EVERYTHING = frozenset({"network", "compute", "volume", "groups", "balancer", "iam", "key",
                        "parameters", "bucket"})


def spec(environment: str = "qa", project: str = "argos") -> EnvironmentSpec:
    return EnvironmentSpec(
        name=environment, project=project, image=ImageConfig(base_ami_id=BASE_AMI),
        source=SourceConfig(repository="https://example.invalid/argos.git",
                            config_template=Path("config.tmpl"),
                            celery_config_template=Path("celery.tmpl")))


def session_for(clients: Clients, tmp_path: Path, environment: str = "qa",
                project: str = "argos") -> Session:
    return Session(spec=spec(environment, project), clients=clients, state_dir=tmp_path,
                   clock=FakeClock())


def _network(ec2: Any) -> tuple[str, list[dict[str, Any]]]:
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
    subnets = sorted(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
                     ["Subnets"], key=lambda s: s["AvailabilityZone"])[:2]
    return vpc["VpcId"], subnets


def make_image(clients: Clients, project: str = "argos") -> tuple[str, list[str]]:
    """A baked image of the project (no environment tag), with its snapshot(s)."""
    ec2 = clients.ec2
    shared = Scope(project, None)
    tags = shared.tags("image", **{TAG_BAKE: "d" * 16})
    instance = ec2.run_instances(ImageId=BASE_AMI, MinCount=1, MaxCount=1,
                                 InstanceType="t3.small")["Instances"][0]["InstanceId"]
    image_id = ec2.create_image(InstanceId=instance, Name=f"{project}-image-{'d' * 16}",
                                TagSpecifications=tag_specifications(tags, "image"))["ImageId"]
    ec2.terminate_instances(InstanceIds=[instance])
    raw = ec2.describe_images(ImageIds=[image_id])["Images"][0]
    snapshots = [m["Ebs"]["SnapshotId"] for m in raw.get("BlockDeviceMappings", [])
                 if m.get("Ebs", {}).get("SnapshotId")]
    return image_id, snapshots


def make_environment(clients: Clients, scope: Scope, *, image_id: str = BASE_AMI,
                     parts: frozenset[str] = EVERYTHING) -> dict[str, str]:
    """Tagged resources as DESIGN §3 names them; returns role-ish name → id."""
    ec2, ids = clients.ec2, {}
    vpc_id, subnets = _network(ec2)
    zone, subnet = subnets[0]["AvailabilityZone"], subnets[0]["SubnetId"]
    assert scope.environment is not None

    def tags(role: str, kind: str, **extra: str) -> list[dict[str, object]]:
        return tag_specifications(scope.tags(role, **extra), kind)

    if "network" in parts:
        for role in ("lb", "master", "database", "broker", "app", "worker"):
            ids[f"sg.{role}"] = ec2.create_security_group(
                GroupName=scope.name(role), Description=f"argos-cloud {scope.name(role)}",
                VpcId=vpc_id, TagSpecifications=tags(role, "security-group"))["GroupId"]
        sources = {"app": ["lb"], "database": ["app", "worker"], "broker": ["app", "worker"],
                   "master": ["app", "worker", "database", "broker"]}
        for role, froms in sources.items():
            ec2.authorize_security_group_ingress(GroupId=ids[f"sg.{role}"], IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 4505, "ToPort": 4506,
                 "UserIdGroupPairs": [{"GroupId": ids[f"sg.{s}"]} for s in froms]}])
    if "iam" in parts:
        path = f"/argos-cloud/{scope.project}/{scope.environment}/"
        name = scope.name("instances")
        clients.iam.create_role(RoleName=name, Path=path, Tags=tag_list(scope.tags("shared")),
                                AssumeRolePolicyDocument=json.dumps({"Statement": []}))
        clients.iam.create_instance_profile(InstanceProfileName=name, Path=path,
                                            Tags=tag_list(scope.tags("shared")))
        clients.iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        ids["iam"] = name
    if "key" in parts:
        ec2.create_key_pair(KeyName=scope.name("ssh"), TagSpecifications=tags("shared",
                                                                               "key-pair"))
    if "compute" in parts:
        for role in ("master", "database", "broker"):
            group = [ids[f"sg.{role}"]] if f"sg.{role}" in ids else []
            ids[f"i.{role}"] = ec2.run_instances(
                ImageId=BASE_AMI, MinCount=1, MaxCount=1, InstanceType="t3.small",
                SubnetId=subnet, SecurityGroupIds=group,
                TagSpecifications=tags(role, "instance"))["Instances"][0]["InstanceId"]
    if "volume" in parts:
        ids["volume"] = ec2.create_volume(
            AvailabilityZone=zone, Size=20, VolumeType="gp3",
            TagSpecifications=tags("database", "volume", Name=scope.name("database-data"),
                                   **{TAG_VOLUME: "data"}))["VolumeId"]
        if "i.database" in ids:
            ec2.attach_volume(VolumeId=ids["volume"], InstanceId=ids["i.database"],
                              Device="/dev/sdf")
    if "balancer" in parts:
        elbv2 = clients.elbv2
        ids["tg"] = elbv2.create_target_group(
            Name=scope.name("app")[:32], Protocol="HTTP", Port=80, VpcId=vpc_id,
            Tags=tag_list(scope.tags("app")))["TargetGroups"][0]["TargetGroupArn"]
        ids["lb"] = elbv2.create_load_balancer(
            Name=scope.name("app")[:32], Subnets=[s["SubnetId"] for s in subnets],
            SecurityGroups=[ids["sg.lb"]] if "sg.lb" in ids else [],
            Tags=tag_list(scope.tags("app")))["LoadBalancers"][0]["LoadBalancerArn"]
        elbv2.create_listener(LoadBalancerArn=ids["lb"], Protocol="HTTP", Port=80,
                              DefaultActions=[{"Type": "forward", "TargetGroupArn": ids["tg"]}])
    if "groups" in parts:
        for role in ("app", "worker"):
            group = [ids[f"sg.{role}"]] if f"sg.{role}" in ids else []
            ids[f"lt.{role}"] = ec2.create_launch_template(
                LaunchTemplateName=scope.name(role), LaunchTemplateData={
                    "ImageId": image_id, "InstanceType": "t3.small",
                    "SecurityGroupIds": group,
                    "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"}},
                TagSpecifications=tags(role, "launch-template"),
            )["LaunchTemplate"]["LaunchTemplateId"]
            extra = {"TargetGroupARNs": [ids["tg"]]} if role == "app" and "tg" in ids else {}
            clients.autoscaling.create_auto_scaling_group(
                AutoScalingGroupName=scope.name(role), MinSize=1, MaxSize=2, DesiredCapacity=1,
                LaunchTemplate={"LaunchTemplateId": ids[f"lt.{role}"], "Version": "$Default"},
                VPCZoneIdentifier=subnet, **extra,
                Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True,
                       "ResourceId": scope.name(role), "ResourceType": "auto-scaling-group"}
                      for k, v in scope.tags(role).items()])
            clients.autoscaling.put_scaling_policy(
                AutoScalingGroupName=scope.name(role), PolicyName=scope.name(f"{role}-cpu"),
                PolicyType="TargetTrackingScaling", TargetTrackingConfiguration={
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ASGAverageCPUUtilization"},
                    "TargetValue": 60.0})
    if "parameters" in parts:
        for leaf in ("database-password", "secret-key"):
            clients.ssm.put_parameter(Name=scope.parameter(leaf), Value="s3cret",
                                      Type="SecureString", Tags=tag_list(scope.tags("shared")))
    if "bucket" in parts:
        name = bucket_name(scope.project, scope.environment, clients.account_id())
        clients.s3.create_bucket(Bucket=name)
        clients.s3.put_bucket_tagging(Bucket=name,
                                      Tagging={"TagSet": tag_list(scope.tags("shared"))})
        clients.s3.put_bucket_versioning(Bucket=name,
                                         VersioningConfiguration={"Status": "Enabled"})
        for body in (b"one", b"two"):
            clients.s3.put_object(Bucket=name, Key="bundles/x.tar.gz", Body=body)
        clients.ssm.put_parameter(Name=scope.parameter("bundle"), Type="String", Value=json.dumps(
            {"bucket": name, "key": "bundles/x.tar.gz", "digest": "x", "commit": None}))
        ids["bucket"] = name
    return ids


def found(clients: Clients, scope: Scope) -> set[tuple[str, str]]:
    return {(a.address, a.id) for a in discover(clients, scope, environment_kinds()).all()}


def final_snapshots(clients: Clients, environment: str) -> list[dict[str, Any]]:
    snapshots: list[dict[str, Any]] = clients.ec2.describe_snapshots(
        OwnerIds=["self"], Filters=[
            {"Name": f"tag:{TAG_ENVIRONMENT}", "Values": [environment]},
            {"Name": "tag-key", "Values": [TAG_FINAL_SNAPSHOT]}])["Snapshots"]
    return snapshots


def test_full_teardown_leaves_only_the_final_snapshot_and_the_image(
        aws: Clients, tmp_path: Path) -> None:
    image_id, _ = make_image(aws)
    ids = make_environment(aws, Scope("argos", "qa"), image_id=image_id)
    session = session_for(aws, tmp_path)
    plan = plan_decommission(session)
    kinds = {a.kind for a in plan.deletes}
    assert kinds >= {"security_group", "instance", "volume", "launch_template",
                     "auto_scaling_group", "scaling_policy", "target_group", "load_balancer",
                     "listener", "iam_role", "instance_profile", "key_pair", "parameter",
                     "bucket", "bundle"}
    assert any(image_id in k for k in plan.keeps)
    assert EMULATOR_ORDER_NOTE in plan.notes

    result = decommission(session, plan)

    assert result.ok, decommission_result_lines(result)
    assert result.remaining == [] and found(aws, Scope("argos", "qa")) == set()
    assert [i.id for i in image_kind.read(aws, Scope("argos", None))] == [image_id]
    snaps = final_snapshots(aws, "qa")
    assert [s["SnapshotId"] for s in snaps] == result.snapshots
    assert snaps[0]["VolumeId"] == ids["volume"]
    tags = tag_dict(snaps[0]["Tags"])
    assert (tags[TAG_ROLE], tags[TAG_ENVIRONMENT]) == ("database", "qa")
    assert tags[TAG_FINAL_SNAPSHOT]  # the time it was taken
    assert any("final snapshot" in k for k in result.kept)
    assert aws.ssm.describe_parameters()["Parameters"] == []  # lock and history gone too
    assert "fresh discovery finds nothing" in "\n".join(decommission_result_lines(result))
    history = (tmp_path / "argos-qa-history.jsonl").read_text().splitlines()
    assert json.loads(history[-1])["result"] == "succeeded"
    assert json.loads(json.dumps(result.to_json()))["ok"] is True


def test_the_final_snapshot_is_taken_before_anything_of_the_database_goes(
        aws: Clients, tmp_path: Path) -> None:
    make_environment(aws, Scope("argos", "qa"))
    order: list[str] = []

    class Record:
        def on_event(self, event: Event) -> None:
            if isinstance(event, StepSucceeded):
                order.append(event.step)

    session = session_for(aws, tmp_path)
    decommission(session, plan_decommission(session), hook=Record(), parallel=1)
    assert order.index("snapshot.database") < order.index("instance.database")
    assert order.index("instance.database") < order.index("volume.database.data")
    assert order.index("revoke.security_groups") < order.index("security_group.database")


def test_skip_final_snapshot_takes_none(aws: Clients, tmp_path: Path) -> None:
    make_environment(aws, Scope("argos", "qa"))
    session = session_for(aws, tmp_path)
    plan = plan_decommission(session, skip_final_snapshot=True)
    assert "snapshot.database" not in plan.graph
    result = decommission(session, plan)
    assert result.ok and result.snapshots == [] and final_snapshots(aws, "qa") == []


def test_delete_image_deletes_the_image_and_its_snapshots(aws: Clients, tmp_path: Path) -> None:
    image_id, snapshots = make_image(aws)
    make_environment(aws, Scope("argos", "qa"), image_id=image_id)
    session = session_for(aws, tmp_path)
    result = decommission(session, plan_decommission(session, delete_image=True))
    assert result.ok, decommission_result_lines(result)
    assert image_kind.read(aws, Scope("argos", None)) == []
    left = aws.ec2.describe_snapshots(Filters=[{"Name": "snapshot-id", "Values": snapshots}])
    assert snapshots and left["Snapshots"] == []


def test_delete_image_is_refused_while_another_environment_uses_it(
        aws: Clients, tmp_path: Path) -> None:
    image_id, _ = make_image(aws)
    make_environment(aws, Scope("argos", "qa"), image_id=image_id)
    make_environment(aws, Scope("argos", "production"), image_id=image_id,
                     parts=frozenset({"groups"}))
    with pytest.raises(Refused, match="production"):
        plan_decommission(session_for(aws, tmp_path), delete_image=True)


def test_other_environments_and_projects_are_untouched(aws: Clients, tmp_path: Path) -> None:
    make_environment(aws, Scope("argos", "qa"))
    make_environment(aws, Scope("argos", "production"), parts=EVERYTHING - {"key"})
    make_environment(aws, Scope("other", "qa"), parts=frozenset({"network", "compute",
                                                                 "parameters", "volume"}))
    untagged = aws.ec2.run_instances(ImageId=BASE_AMI, MinCount=1, MaxCount=1)[
        "Instances"][0]["InstanceId"]
    before = {s: found(aws, s) for s in (Scope("argos", "production"), Scope("other", "qa"))}
    assert all(before.values())

    session = session_for(aws, tmp_path)
    result = decommission(session, plan_decommission(session))

    assert result.ok, decommission_result_lines(result)
    assert {s: found(aws, s) for s in before} == before
    state = aws.ec2.describe_instances(InstanceIds=[untagged])["Reservations"][0]
    assert state["Instances"][0]["State"]["Name"] == "running"


def test_hand_made_tagged_strays_are_removed_too(aws: Clients, tmp_path: Path) -> None:
    scope = Scope("argos", "qa")
    make_environment(aws, scope)
    vpc_id, _ = _network(aws.ec2)
    stray_group = aws.ec2.create_security_group(
        GroupName="made-by-hand", Description="x", VpcId=vpc_id,
        TagSpecifications=tag_specifications(scope.tags("master"), "security-group"))["GroupId"]
    stray = aws.ec2.run_instances(
        ImageId=BASE_AMI, MinCount=1, MaxCount=1, SecurityGroupIds=[stray_group],
        TagSpecifications=tag_specifications(scope.tags("master"), "instance"),
    )["Instances"][0]["InstanceId"]
    session = session_for(aws, tmp_path)
    plan = plan_decommission(session)
    assert {stray, stray_group} <= {a.id for a in plan.deletes}

    result = decommission(session, plan)

    assert result.ok, decommission_result_lines(result)
    state = aws.ec2.describe_instances(InstanceIds=[stray])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "terminated"
    groups = aws.ec2.describe_security_groups(
        Filters=[{"Name": "group-id", "Values": [stray_group]}])["SecurityGroups"]
    assert groups == []


@pytest.mark.parametrize("parts", [frozenset({"network"}), frozenset({"compute", "volume"}),
                                   frozenset({"iam", "parameters"}),
                                   frozenset({"balancer", "groups"})])
def test_a_partial_environment_is_torn_down(aws: Clients, tmp_path: Path,
                                            parts: frozenset[str]) -> None:
    make_environment(aws, Scope("argos", "qa"), parts=parts)
    session = session_for(aws, tmp_path)
    result = decommission(session, plan_decommission(session))
    assert result.ok, decommission_result_lines(result)
    assert found(aws, Scope("argos", "qa")) == set()


def test_an_empty_environment_is_not_an_error(aws: Clients, tmp_path: Path) -> None:
    session = session_for(aws, tmp_path)
    plan = plan_decommission(session)
    assert plan.empty and "nothing to delete" in decommission_plan_lines(plan)[0]
    result = decommission(session, plan)
    assert result.ok and result.deleted == []
    assert any("nothing to delete" in line for line in decommission_result_lines(result))
    assert aws.ssm.describe_parameters()["Parameters"] == []  # no lock, no history left


def test_decommission_is_refused_while_another_operation_holds_the_lock(
        aws: Clients, tmp_path: Path) -> None:
    make_environment(aws, Scope("argos", "qa"), parts=frozenset({"network"}))
    session = session_for(aws, tmp_path)
    plan = plan_decommission(session)
    other = session.lock("deploy")
    other.acquire()
    with pytest.raises(LockHeld):
        decommission(session, plan)
    assert found(aws, Scope("argos", "qa"))  # nothing deleted


class StopAfter:
    """A hook that sets `stop` once `n` steps have succeeded (Ctrl-C at step n)."""

    def __init__(self, n: int) -> None:
        self.n, self.stop, self.done = n, threading.Event(), 0

    def on_event(self, event: Event) -> None:
        if isinstance(event, StepSucceeded):
            self.done += 1
            if self.done >= self.n:
                self.stop.set()


@pytest.mark.parametrize("n", [1, 3, 8, 15, 25])
def test_an_interrupted_decommission_reruns_to_completion(aws: Clients, tmp_path: Path,
                                                          n: int) -> None:
    make_environment(aws, Scope("argos", "qa"))
    session = session_for(aws, tmp_path)
    hook = StopAfter(n)
    first = decommission(session, plan_decommission(session), hook=hook, parallel=1,
                         stop=hook.stop)
    assert first.interrupted and not first.ok and first.not_done
    assert "run decommission qa again" in "\n".join(decommission_result_lines(first))

    again = decommission(session, plan_decommission(session))

    assert again.ok, decommission_result_lines(again)
    assert found(aws, Scope("argos", "qa")) == set()
    assert aws.ssm.describe_parameters()["Parameters"] == []
    assert final_snapshots(aws, "qa")  # taken once at least, whatever step was cut


def test_a_failed_step_skips_its_dependants_and_a_rerun_finishes(
        aws: Clients, tmp_path: Path) -> None:
    faults = Faults().add("TerminateInstances", status=400, code="UnauthorizedOperation",
                          times=1).attach(aws)
    make_environment(aws, Scope("argos", "qa"), parts=frozenset({"network", "compute"}))
    session = session_for(aws, tmp_path)
    # one instance fails (the walk runs them in name order with parallel=1: the broker)
    first = decommission(session, plan_decommission(session), parallel=1)
    assert list(first.failed) == ["instance.broker"] and faults.pending("TerminateInstances") == 0
    assert "security_group.broker" in first.not_done and not first.ok
    assert first.remaining  # said plainly, not hidden

    again = decommission(session, plan_decommission(session))
    assert again.ok, decommission_result_lines(again)


def test_dependency_violation_on_delete_security_group_is_retried(
        aws: Clients, tmp_path: Path) -> None:
    faults = Faults().add("DeleteSecurityGroup", status=400, code="DependencyViolation",
                          times=2).attach(aws)
    make_environment(aws, Scope("argos", "qa"), parts=frozenset({"network", "compute"}))
    session = session_for(aws, tmp_path)
    result = decommission(session, plan_decommission(session))
    assert result.ok, decommission_result_lines(result)
    assert faults.pending("DeleteSecurityGroup") == 0
    assert faults.injected["DeleteSecurityGroup"] == 2
    assert isinstance(session.clock, FakeClock) and session.clock.slept  # backed off
    assert found(aws, Scope("argos", "qa")) == set()


def test_a_snapshot_an_image_still_uses_is_kept_and_not_reported_deleted(aws: Clients) -> None:
    from argos_cloud.kinds.volume import delete_snapshots

    _, snapshots = make_image(aws)
    assert snapshots, "moto gives a created image its snapshot"
    ec2 = aws.ec2
    loose = ec2.create_snapshot(VolumeId=ec2.create_volume(
        AvailabilityZone="us-east-1a", Size=1)["VolumeId"])["SnapshotId"]
    assert delete_snapshots(aws, [snapshots[0], loose, "snap-0123456789abcdef0"]) == [
        loose, "snap-0123456789abcdef0"]  # gone counts as done; in use does not
    left = {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert snapshots[0] in left and loose not in left
