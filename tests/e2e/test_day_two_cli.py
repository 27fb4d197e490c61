"""Day two on a moto server, through the CLI: the issue's "done when", step by step.

Drift exits 4 and `check` names the group; status lists every instance with its commit,
image and the URL; a deploy posts to a local webhook; retention keeps one final
snapshot; a restore makes the data volume from it; the graph is an SVG of the plan.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest

from argos_cloud.workflows.graph import dot_program

pytestmark = pytest.mark.e2e
A = "a" * 40


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def _ec2(url: str) -> Any:
    return boto3.client("ec2", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_day_two_on_the_sandbox(cli, project: Path, moto_server: str,  # type: ignore[no-untyped-def]
                                webhook: tuple[str, list[dict[str, Any]]]) -> None:
    hook_url, received = webhook
    config = project / "argos-cloud.toml"
    text = config.read_text().replace("data_volume_size = 20 ",
                                      "keep_final_snapshots = 1\ndata_volume_size = 20 ")
    config.write_text(text + f'\n[notify]\nwebhook = "{hook_url}"\n')

    # a plan a person can review, then nothing to do
    ran = cli("--output", "json", "qa", "plan", "--detailed-exitcode")
    assert ran.status == 4, ran.stderr
    plan = ran.json()
    assert plan["cost"]["hourly_usd_before"] == 0 and plan["cost"]["hourly_usd_after"] > 0
    app_lt = next(a for a in plan["actions"] if a["address"] == "launch_template.app")
    assert {"field": "instance_type", "before": None, "after": "t3.small"} in app_lt["details"]
    assert cli("--yes", "qa", "commission").status == 0
    assert received[-1]["command"] == "commission" and received[-1]["result"] == "succeeded"
    ran = cli("qa", "plan", "--detailed-exitcode")
    assert ran.status == 0, ran.stdout + ran.stderr
    assert "Hourly cost" in ran.stdout

    # a rule added by hand is drift: plan says 4, check names the group
    ec2 = _ec2(moto_server)
    group = ec2.describe_security_groups(Filters=[
        {"Name": "tag:Name", "Values": ["argos-qa-app"]}])["SecurityGroups"][0]
    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "198.51.100.0/24"}]}])
    ran = cli("qa", "plan", "--detailed-exitcode")
    assert ran.status == 4
    assert "- ingress = tcp 22 from cidr:198.51.100.0/24" in ran.stdout
    ran = cli("--output", "json", "qa", "check")
    assert ran.status == 4
    drift = ran.json()["drift"]
    assert [(d["address"], d["id"]) for d in drift] == [("security_group.app",
                                                          group["GroupId"])]
    assert "argos-qa-app" in cli("qa", "check").stdout
    assert cli("--yes", "qa", "commission").status == 0  # repaired
    assert cli("qa", "check").status == 0

    # a deploy records its commit on each instance and tells the webhook
    assert cli("--yes", "qa", "deploy", "--ref", A).status == 0
    assert received[-1]["command"] == "deploy" and received[-1]["commit"] == A
    assert received[-1]["result"] == "succeeded" and received[-1]["url"].startswith("http://")
    status = cli("--output", "json", "qa", "status").json()
    assert status["url"] and status["url"].startswith("http://")
    by_role: dict[str, list[dict[str, Any]]] = {}
    for i in status["instances"]:
        by_role.setdefault(i["role"], []).append(i)
    assert set(by_role) == {"master", "database", "broker", "app", "worker"}
    for member in by_role["app"] + by_role["worker"]:
        assert member["commit"] == A and member["image_id"].startswith("ami-")
        assert member["flags"] == []
    assert {i["target_health"] for i in by_role["app"]} == {"healthy"}
    assert status["last_operation"]["command"] == "deploy"
    text = cli("qa", "status").stdout
    assert "url: http://" in text and f"  {A[:12]}" in text
    assert "last operation: deploy" in text and "succeeded" in text

    # graph: an SVG whose nodes are the plan's resources
    if dot_program() is not None:
        ran = cli("qa", "graph", "--format", "svg", "--output-file", "env.svg")
        assert ran.status == 0, ran.stderr
        svg = (project / "env.svg").read_text()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
        assert "auto_scaling_group.app" in svg and "instance.database" in svg
    mermaid = cli("qa", "graph", "--format", "mermaid").stdout
    assert mermaid.startswith("flowchart LR") and "volume.database.data" in mermaid

    # retention: two decommissions leave one final snapshot; restore makes the volume from it
    assert cli("--yes", "qa", "decommission").status == 0
    assert received[-1]["command"] == "decommission"
    assert cli("--yes", "qa", "commission").status == 0
    ran = cli("--yes", "--output", "json", "qa", "decommission")
    assert ran.status == 0, ran.stderr
    assert len(ran.json()["pruned_snapshots"]) == 1
    snaps = ec2.describe_snapshots(OwnerIds=["self"], Filters=[
        {"Name": "tag:argos-cloud:environment", "Values": ["qa"]}])["Snapshots"]
    assert len(snaps) == 1
    ran = cli("qa", "plan", "--restore-snapshot", "latest")
    assert f"+ snapshot_id = {snaps[0]['SnapshotId']}" in ran.stdout
    assert cli("--yes", "qa", "commission", "--restore-snapshot", "latest").status == 0
    volumes = ec2.describe_volumes(Filters=[
        {"Name": "tag:Name", "Values": ["argos-qa-database-data"]}])["Volumes"]
    assert [v["SnapshotId"] for v in volumes] == [snaps[0]["SnapshotId"]]
    ran = cli("--yes", "qa", "commission", "--restore-snapshot", "latest")
    assert ran.status == 3 and "already exists" in ran.stderr


def test_a_new_bake_rolls_both_groups_onto_the_new_image_in_batches(  # type: ignore[no-untyped-def]
        cli, project: Path, moto_server: str) -> None:
    config = project / "argos-cloud.toml"
    text = config.read_text().replace("min_size = 1\nmax_size = 2\ndesired = 1\ncpu_target = 60.0",
                                      "min_size = 1\nmax_size = 2\ndesired = 2\ncpu_target = 60.0")
    config.write_text(text)
    assert cli("--yes", "qa", "commission").status == 0
    before = cli("--output", "json", "qa", "status").json()
    old = {i["id"]: i["image_id"] for i in before["instances"] if i["group"]}
    assert len(old) == 3 and len(set(old.values())) == 1

    config.write_text(text.replace('celery_app = "argos.celery"',
                                   'celery_app = "argos.celery"\nsystem_packages = ["htop"]'))
    plan = cli("qa", "plan").stdout
    assert "image.image" in plan and "launch_template.app" in plan
    ran = cli("--yes", "--output", "json", "qa", "commission")
    assert ran.status == 0, ran.stderr
    rolls = {r["role"]: r for r in ran.json()["image_rolls"]}
    assert set(rolls) == {"app", "worker"}
    assert [len(b["old"]) for b in rolls["app"]["batches"]] == [1, 1]
    assert all(b["status"] == "replaced" for r in rolls.values() for b in r["batches"])

    after = cli("--output", "json", "qa", "status").json()
    members = [i for i in after["instances"] if i["group"]]
    new_image = rolls["app"]["image_id"]
    assert new_image not in set(old.values())
    assert {i["image_id"] for i in members} == {new_image} and len(members) == 3
    assert not set(old) & {i["id"] for i in members}
    assert all(r["done"] for r in after["image_rollout"])
    groups = boto3.client("autoscaling", endpoint_url=moto_server, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    app = groups.describe_auto_scaling_groups(AutoScalingGroupNames=["argos-qa-app"])[
        "AutoScalingGroups"][0]
    assert (app["MaxSize"], app["DesiredCapacity"]) == (2, 2)  # put back after the roll
    history = cli("--output", "json", "qa", "history").json()["entries"]
    assert ("roll", "succeeded") in {(e["command"], e["result"]) for e in history}
    assert cli("qa", "plan", "--detailed-exitcode").status == 0
