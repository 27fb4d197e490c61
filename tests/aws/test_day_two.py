"""Notifications on moto's SNS (read back through an SQS subscriber) and the orphan report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.kinds.volume import TAG_FINAL_SNAPSHOT, TAG_VOLUME
from argos_cloud.model.names import TAG_BAKE, Scope, tag_specifications
from argos_cloud.workflows.check import find_orphans
from tests.aws.commission_env import open_env

pytestmark = pytest.mark.aws
TOPIC = "arn:aws:sns:us-east-1:123456789012:argos-ops"


def _queue_on_topic(aws: Clients) -> str:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="ops")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    topic = aws.client("sns").create_topic(Name="argos-ops")["TopicArn"]
    assert topic == TOPIC
    aws.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return str(url)


def test_a_finished_operation_reaches_sns_and_a_dead_webhook_is_only_a_warning(
        aws: Clients, tmp_path: Path) -> None:
    queue = _queue_on_topic(aws)
    session = open_env(aws, tmp_path, extra=f'\n[notify]\nsns_topic_arn = "{TOPIC}"\n'
                       'webhook = "http://127.0.0.1:9/nobody-listens"\n')
    said: list[tuple[str, str]] = []
    session.on_event = lambda step, text: said.append((step, text))
    journal = session.journal()
    entry = journal.start("deploy", who="ops@build", commit="a" * 40)
    done = journal.finish(entry, "failed", failed_step="app batch 1/1",
                          detail="secret-ish text that must not travel")
    assert done.result == "failed"  # the operation's outcome is untouched by the warning
    assert [step for step, _ in said] == ["notify"]
    assert "webhook notification failed" in said[0][1]
    messages = aws.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)[
        "Messages"]
    body = json.loads(json.loads(messages[0]["Body"])["Message"])
    assert (body["command"], body["result"], body["environment"], body["who"]) == (
        "deploy", "failed", "qa", "ops@build")
    assert body["failed_step"] == "app batch 1/1" and body["commit"] == "a" * 40
    assert "secret-ish" not in messages[0]["Body"]


def test_without_notify_config_nothing_is_sent(aws: Clients, tmp_path: Path) -> None:
    queue = _queue_on_topic(aws)
    journal = open_env(aws, tmp_path).journal()
    journal.finish(journal.start("commission", who="ops@build"), "succeeded")
    assert "Messages" not in aws.client("sqs").receive_message(QueueUrl=queue)


def test_orphans_name_gone_environments_loose_volumes_and_old_final_snapshots(
        aws: Clients, tmp_path: Path) -> None:
    session = open_env(aws, tmp_path, extra="\n[environments.staging]\n"
                       "database.keep_final_snapshots = 1\n", name="staging")
    ec2 = aws.ec2
    gone = Scope("argos", "legacy")
    stray = ec2.create_volume(AvailabilityZone="us-east-1a", Size=5, TagSpecifications=(
        tag_specifications(gone.tags("database"), "volume")))["VolumeId"]
    aws.ssm.put_parameter(Name=gone.parameter("deployed-ref"), Value="x", Type="String")
    mine = Scope("argos", "staging")
    data = ec2.create_volume(AvailabilityZone="us-east-1a", Size=5, TagSpecifications=(
        tag_specifications(mine.tags("database", **{TAG_VOLUME: "data"}), "volume")))[
        "VolumeId"]
    snaps = [ec2.create_snapshot(VolumeId=data, TagSpecifications=tag_specifications(
        mine.tags("database", **{TAG_FINAL_SNAPSHOT: f"2026-01-0{i}T00:00:00Z"}),
        "snapshot"))["SnapshotId"] for i in (1, 2)]
    bake = ec2.create_security_group(GroupName="argos-image-bake", Description="bake",
                                     TagSpecifications=tag_specifications(Scope(
                                         "argos", None).tags("image", **{TAG_BAKE: "d"}),
                                         "security-group"))["GroupId"]
    orphans = {(o.kind, o.id): o.why for o in find_orphans(session)}
    assert "bake leftover" in orphans[("security_group", bake)]
    assert "environment 'legacy'" in orphans[("volume", stray)]
    assert ("parameter", "/argos-cloud/argos/legacy/") in orphans
    assert "unattached" in orphans[("volume", data)]  # its own data volume, used by nothing
    old = [k for k in orphans if k[0] == "snapshot"]
    assert len(old) == 1 and old[0][1] in snaps
    assert all("staging" not in why or "unattached" in why for why in orphans.values())


def test_a_restore_names_a_snapshot_that_exists_or_latest_of_this_environment(
        aws: Clients, tmp_path: Path) -> None:
    from argos_cloud.errors import BadInput
    from argos_cloud.kinds.volume import resolve_snapshot

    scope = Scope("argos", "qa")
    with pytest.raises(BadInput, match="no final snapshot"):
        resolve_snapshot(aws, scope, "latest")
    with pytest.raises(BadInput, match="no snapshot snap-0123456789abcdef0"):
        resolve_snapshot(aws, scope, "snap-0123456789abcdef0")
    with pytest.raises(BadInput, match="not a snapshot id"):
        resolve_snapshot(aws, scope, "yesterday")
    volume = aws.ec2.create_volume(AvailabilityZone="us-east-1a", Size=5)["VolumeId"]
    other = aws.ec2.create_snapshot(VolumeId=volume, TagSpecifications=tag_specifications(
        Scope("argos", "staging").tags("database", **{TAG_FINAL_SNAPSHOT: "x"}),
        "snapshot"))["SnapshotId"]
    mine = aws.ec2.create_snapshot(VolumeId=volume, TagSpecifications=tag_specifications(
        scope.tags("database", **{TAG_FINAL_SNAPSHOT: "x"}), "snapshot"))["SnapshotId"]
    assert resolve_snapshot(aws, scope, "latest") == mine  # never another environment's
    assert resolve_snapshot(aws, scope, other) == other  # an explicit id is the user's call
