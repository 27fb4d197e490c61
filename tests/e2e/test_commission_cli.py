"""Issue 4's done-when, as a user runs it: a plain moto server, provider aws, the CLI."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.e2e.conftest import RunCli

pytestmark = pytest.mark.e2e


def _ec2(url: str) -> Any:
    return boto3.client("ec2", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_commission_builds_everything_and_a_second_run_has_nothing_to_do(
        cli: RunCli, moto_server: str) -> None:
    first = cli("--yes", "--output", "json", "qa", "commission")
    assert first.status == 0, first.stderr
    body = first.json()
    assert body["ok"] and body["changed"] and not body["failed"]
    assert "emulator" in first.stderr  # the tool says it is on an emulator
    made = {a["address"] for a in body["plan"]["actions"] if a["action"] == "create"}
    assert {"instance.master", "instance.database", "volume.database.data", "instance.broker",
            "auto_scaling_group.app", "auto_scaling_group.worker", "load_balancer.app",
            "listener.app", "image.image", "scaling_policy.app"} <= made

    second = cli("--yes", "--output", "json", "qa", "commission")
    assert second.status == 0 and second.json()["changed"] is False
    plan = cli("--output", "json", "qa", "plan")
    assert plan.status == 0
    assert {a["action"] for a in plan.json()["actions"]} == {"no-op"}

    # what was created is least privilege and IMDSv2
    ec2 = _ec2(moto_server)
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "tag:argos-cloud:environment", "Values": ["qa"]}])["SecurityGroups"]
    for group in groups:
        for perm in group["IpPermissions"]:
            world = [r for r in perm.get("IpRanges", []) if r["CidrIp"] == "0.0.0.0/0"]
            if world:
                assert group["GroupName"] == "argos-qa-lb" and perm["FromPort"] in (80, 443)
    templates = ec2.describe_launch_templates(
        Filters=[{"Name": "tag:argos-cloud:environment", "Values": ["qa"]}])["LaunchTemplates"]
    assert len(templates) == 2
    for t in templates:
        data = ec2.describe_launch_template_versions(LaunchTemplateId=t["LaunchTemplateId"])[
            "LaunchTemplateVersions"][0]["LaunchTemplateData"]
        assert data["MetadataOptions"]["HttpTokens"] == "required"


def test_a_group_deleted_by_hand_is_restored(cli, moto_server: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("--yes", "qa", "commission").status == 0
    asg = boto3.client("autoscaling", endpoint_url=moto_server, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    asg.delete_auto_scaling_group(AutoScalingGroupName="argos-qa-worker", ForceDelete=True)
    plan = cli("--output", "json", "qa", "plan").json()
    todo = {(a["action"], a["address"]) for a in plan["actions"] if a["action"] != "no-op"}
    assert ("create", "auto_scaling_group.worker") in todo
    again = cli("--yes", "qa", "commission")
    assert again.status == 0, again.stderr
    names = [g["AutoScalingGroupName"] for g in asg.describe_auto_scaling_groups()[
        "AutoScalingGroups"]]
    assert sorted(names) == ["argos-qa-app", "argos-qa-worker"]
    assert {a["action"] for a in cli("--output", "json", "qa", "plan").json()["actions"]} == {
        "no-op"}


def test_status_of_an_empty_environment_says_so(cli) -> None:  # type: ignore[no-untyped-def]
    ran = cli("qa", "status")
    assert ran.status == 0 and "nothing exists" in ran.stdout
    ran = cli("--output", "json", "qa", "status")
    assert ran.json()["empty"] is True


def test_commission_without_yes_and_no_terminal_is_refused_and_creates_nothing(
        cli: RunCli, moto_server: str) -> None:
    ran = cli("qa", "commission")  # stdin closed: nobody to ask
    assert ran.status == 3 and "pass --yes" in ran.stderr
    ran = cli("qa", "commission", stdin="n\n")
    assert ran.status == 3 and "declined" in ran.stderr
    assert cli("--output", "json", "qa", "status").json()["empty"] is True
