"""Issue 21 as a user runs it on a moto server: the seed's flags, scale, exec, logs."""

from __future__ import annotations

import boto3
import pytest

from tests.e2e.conftest import RunCli

pytestmark = pytest.mark.e2e


def _sizes(url: str) -> tuple[int, int, int]:
    asg = boto3.client("autoscaling", endpoint_url=url, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    g = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["argos-qa-app"])[
        "AutoScalingGroups"][0]
    return g["MinSize"], g["MaxSize"], g["DesiredCapacity"]


def test_seed_flags_scale_exec_and_logs(cli: RunCli, moto_server: str) -> None:
    made = cli("--yes", "qa", "commission", "--min_size", "2", "--max_size", "3")
    assert made.status == 0, made.stderr
    assert _sizes(moto_server) == (2, 3, 2)
    assert cli("qa", "plan", "--min_size", "2", "--max_size", "3",
               "--detailed-exitcode").status == 0
    assert cli("qa", "plan", "--detailed-exitcode").status == 4  # one run only
    assert cli("qa", "commission", "-ssh", "--yes").status == 2  # no [ssh] cidrs

    scaled = cli("--yes", "qa", "scale", "app=3")
    assert scaled.status == 0, scaled.stderr
    assert "app: desired 2 → 3" in scaled.stdout and _sizes(moto_server) == (2, 3, 3)
    refused = cli("--yes", "qa", "scale", "app=5")
    assert refused.status == 2 and "--max 5" in refused.stderr
    status = cli("--output", "json", "qa", "status").json()
    assert status["scales"][0]["desired"] == 3

    ran = cli("qa", "exec", "--role", "app", "--", "python", "-c", "print(1)")
    assert ran.status == 0, ran.stderr
    assert "(app): exit 0" in ran.stdout and "emulator" in ran.stdout
    history = cli("--output", "json", "qa", "history", "--limit", "1").json()
    assert "exec" in str(history)

    logs = cli("qa", "logs", "--role", "app", "--since", "5m")
    assert logs.status == 0, logs.stderr
    assert cli("qa", "logs", "--since", "yesterday").status == 2
