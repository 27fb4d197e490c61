"""The seed's interface verbatim, as subprocesses, and deploy → rollback through the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
A, B = "a" * 40, "b" * 40


def manage(project: Path, url: str, *argv: str, answer: str = "") -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env.update(ARGOS_CLOUD_PROVIDER="aws", AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *argv], cwd=project,
                          env=env, input=answer, capture_output=True, text=True, timeout=300,
                          check=False)


def test_the_seed_commands_run_verbatim_and_leave_only_the_snapshot(
        project: Path, moto_server: str) -> None:
    done = manage(project, moto_server, "qa", "commission", answer="y\n")
    assert done.returncode == 0, done.stderr + done.stdout
    assert "Plan:" in done.stdout and "Commissioned argos/qa" in done.stdout
    done = manage(project, moto_server, "qa", "deploy", "--ref", A, answer="y\n")
    assert done.returncode == 0, done.stderr + done.stdout
    assert "emulated" in done.stdout
    done = manage(project, moto_server, "qa", "decommission", answer="y\n")
    assert done.returncode == 0, done.stderr + done.stdout
    assert "final snapshot" in done.stdout
    ec2 = boto3.client("ec2", endpoint_url=moto_server, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    live = ec2.describe_instances(Filters=[
        {"Name": "tag:argos-cloud:project", "Values": ["argos"]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    assert live == []
    snaps = ec2.describe_snapshots(OwnerIds=["self"], Filters=[
        {"Name": "tag:argos-cloud:environment", "Values": ["qa"]}])["Snapshots"]
    assert len(snaps) == 1
    done = manage(project, moto_server, "qa", "clean", answer="y\n")
    assert done.returncode == 0, done.stderr + done.stdout
    images = ec2.describe_images(Owners=["self"], Filters=[
        {"Name": "tag:argos-cloud:project", "Values": ["argos"]}])["Images"]
    assert images == []
    done = manage(project, moto_server, "qa", "decommission", answer="y\n")
    assert done.returncode == 0 and "nothing to delete" in done.stdout


def test_deploy_a_then_b_then_rollback_leaves_a(cli, moto_server: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("--yes", "qa", "commission").status == 0
    assert cli("--yes", "qa", "deploy", "--ref", A).status == 0
    assert cli("--yes", "qa", "deploy", "--ref", B).status == 0
    ran = cli("--yes", "--output", "json", "qa", "rollback")
    assert ran.status == 0, ran.stderr
    assert cli("--output", "json", "qa", "status").json()["deployed_ref"] == A
    entries = cli("--output", "json", "qa", "history").json()["entries"]
    deploys = [(e["command"], e["commit"], e["result"]) for e in entries
               if e["command"] in ("deploy", "rollback")]
    assert sorted(deploys) == sorted([("deploy", A, "succeeded"), ("deploy", B, "succeeded"),
                                      ("rollback", A, "succeeded")])
    body = ran.json()
    text = str(body)
    assert "G@environment:qa" in text and "G@project:argos" in text


def test_a_protected_environment_wants_its_name_typed(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--yes", "production", "commission").status == 0
    ran = cli("production", "decommission", stdin="yes\n")
    assert ran.status == 3 and "did not match" in ran.stderr
    assert cli("--output", "json", "production", "status").json()["empty"] is False
    ran = cli("production", "decommission", stdin="production\n")
    assert ran.status == 0, ran.stderr
    left = cli("--output", "json", "production", "status").json()["roles"]
    assert set(left) == {"image"}  # the project's image is kept unless --delete-image
