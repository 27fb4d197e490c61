"""Status on moto: every instance with the commit a deploy recorded on it, flags, few reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from argos_cloud.aws.session import Clients, make_clients
from argos_cloud.kinds import target_group
from argos_cloud.provision.remote import FakeExecutor
from argos_cloud.sandbox.faults import CallCounter
from argos_cloud.workflows import deploy as workflow
from argos_cloud.workflows.status import NO_COMMIT, OTHER_COMMIT, status
from tests.aws.test_deploy import A, B, build_environment, make_session, real, salt_master

pytestmark = pytest.mark.aws


def test_status_shows_what_each_instance_runs_and_flags_a_half_finished_deploy(
        aws: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = build_environment(real(aws))
    session = make_session(tmp_path, aws)
    workflow.deploy(session, ref=A, roles=["app", "worker"], batch="1",
                    executor=FakeExecutor(respond=salt_master()))
    first, sick = env["app"][0], env["app"][1]
    real_health = target_group.target_health
    monkeypatch.setattr(target_group, "target_health", lambda clients, arn: {
        i: ("unhealthy" if i == sick else state)
        for i, state in real_health(clients, arn).items()})
    with pytest.raises(workflow.DeployFailed):
        workflow.deploy(session, ref=B, roles=["app"], batch="1",
                        executor=FakeExecutor(respond=salt_master()))
    monkeypatch.setattr(target_group, "target_health", real_health)
    from argos_cloud.kinds.instance import tag_commit

    # The failed deploy brought its batches back to A; as when bringing back fails
    # too, the first instance is left on B.
    tag_commit(aws, [first], B)
    aws.autoscaling.set_desired_capacity(AutoScalingGroupName="argos-qa-worker",
                                         DesiredCapacity=3)

    session.clients = make_clients(region="us-east-1", sandbox=True)  # hooks reach new clients
    counter = CallCounter().attach(session.clients)
    report = status(session)
    assert not counter.mutating(), counter.mutating()
    assert counter.calls["DescribeInstances"] == 1  # one batched read, members included
    rows = {r.id: r for r in report.instances}
    assert report.deployed_ref == A
    assert rows[first].commit == B and rows[first].flags == (OTHER_COMMIT,)
    assert all(rows[i].commit == A and rows[i].flags == () for i in env["app"][1:])
    new_worker = [r for r in report.instances if r.role == "worker"
                  and r.id not in env["worker"]]
    assert len(new_worker) == 1 and new_worker[0].flags == (NO_COMMIT,)
    assert {rows[i].role for i in (env["master"], env["database"], env["broker"])} == {
        "master", "database", "broker"}
    assert report.last_operation is not None
    assert (report.last_operation["command"], report.last_operation["result"]) == (
        "deploy", "failed")
    body = report.to_json()
    assert {i["id"] for i in body["instances"]} == set(rows)
    assert body["instances"][0]["image_id"].startswith("ami-")
