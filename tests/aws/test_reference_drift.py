"""A reference replaced by hand is drift: `plan` names it, `commission` puts it back.

Each case swaps one reference with boto3 directly, as someone in the console would,
then checks the plan's update and its reason, and after commission AWS's own answer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.plan.types import Action, Change
from argos_cloud.workflows.commission import execute, prepare
from argos_cloud.workflows.session import Session
from tests.aws.commission_env import open_env

pytestmark = pytest.mark.aws


@pytest.fixture(autouse=True)
def _managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def commission(session: Session) -> None:
    prepared = prepare(session)
    if not prepared.plan.empty:
        execute(session, prepared)


def pending(session: Session) -> dict[str, Change]:
    return {c.address: c for c in prepare(session).plan.pending}


def group_id(aws: Clients, name: str) -> str:
    return str(aws.ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"][0]["GroupId"])


def other_group(aws: Clients, session: Session) -> str:
    vpc = aws.ec2.describe_security_groups(GroupIds=[group_id(aws, "argos-qa-lb")])[
        "SecurityGroups"][0]["VpcId"]
    return str(aws.ec2.create_security_group(GroupName="by-hand", Description="by hand",
                                             VpcId=vpc)["GroupId"])


def balancer(aws: Clients) -> dict[str, Any]:
    return dict(aws.elbv2.describe_load_balancers(Names=["argos-qa-app"])["LoadBalancers"][0])


def template_data(aws: Clients) -> dict[str, Any]:
    """The app template's default version, as AWS tells it."""
    return dict(aws.ec2.describe_launch_template_versions(
        LaunchTemplateName="argos-qa-app", Versions=["$Default"])[
        "LaunchTemplateVersions"][0]["LaunchTemplateData"])


def new_default_version(aws: Clients, **changes: Any) -> None:
    """What a console user does: a new version of the app template, made the default."""
    data = {**template_data(aws), **changes}
    made = aws.ec2.create_launch_template_version(LaunchTemplateName="argos-qa-app",
                                                  LaunchTemplateData=data)
    aws.ec2.modify_launch_template(
        LaunchTemplateName="argos-qa-app",
        DefaultVersion=str(made["LaunchTemplateVersion"]["VersionNumber"]))


def app_group(aws: Clients) -> dict[str, Any]:
    return dict(aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["argos-qa-app"])["AutoScalingGroups"][0])


def swap_balancer_group(aws: Clients, session: Session) -> Callable[[], bool]:
    aws.elbv2.set_security_groups(LoadBalancerArn=balancer(aws)["LoadBalancerArn"],
                                  SecurityGroups=[other_group(aws, session)])
    wanted = group_id(aws, "argos-qa-lb")
    return lambda: balancer(aws)["SecurityGroups"] == [wanted]


def swap_template_group(aws: Clients, session: Session) -> Callable[[], bool]:
    new_default_version(aws, SecurityGroupIds=[other_group(aws, session)])
    wanted = group_id(aws, "argos-qa-app")
    return lambda: template_data(aws)["SecurityGroupIds"] == [wanted]


def swap_template_profile(aws: Clients, session: Session) -> Callable[[], bool]:
    aws.iam.create_instance_profile(InstanceProfileName="by-hand")
    new_default_version(aws, IamInstanceProfile={"Name": "by-hand"})
    return lambda: template_data(aws)["IamInstanceProfile"]["Name"] == "argos-qa-instances"


def swap_group_target(aws: Clients, session: Session) -> Callable[[], bool]:
    vpc = balancer(aws)["VpcId"]
    other = aws.elbv2.create_target_group(Name="by-hand", Protocol="HTTP", Port=80,
                                          VpcId=vpc, TargetType="instance")[
        "TargetGroups"][0]["TargetGroupArn"]
    ours = app_group(aws)["TargetGroupARNs"]
    aws.autoscaling.attach_load_balancer_target_groups(
        AutoScalingGroupName="argos-qa-app", TargetGroupARNs=[other])
    aws.autoscaling.detach_load_balancer_target_groups(
        AutoScalingGroupName="argos-qa-app", TargetGroupARNs=ours)
    return lambda: app_group(aws)["TargetGroupARNs"] == ours


CASES = {
    "the load balancer's security group": (swap_balancer_group, "load_balancer.app",
                                           "security_group"),
    "the launch template's security group": (swap_template_group, "launch_template.app",
                                             "security_group"),
    "the launch template's instance profile": (swap_template_profile, "launch_template.app",
                                               "instance_profile"),
    "the app group's target group": (swap_group_target, "auto_scaling_group.app",
                                     "target_group"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_reference_replaced_by_hand_is_planned_as_an_update_and_put_back(
        aws: Clients, tmp_path: Path, case: str) -> None:
    swap, address, key = CASES[case]
    session = open_env(aws, tmp_path)
    commission(session)
    restored = swap(aws, session)
    assert not restored()
    changes = pending(open_env(aws, tmp_path))
    assert list(changes) == [address], {a: c.reason for a, c in changes.items()}
    change = changes[address]
    assert change.action is Action.UPDATE and key in change.fields
    assert key in change.reason, change.reason
    commission(open_env(aws, tmp_path))
    assert restored()
    assert not pending(open_env(aws, tmp_path))
