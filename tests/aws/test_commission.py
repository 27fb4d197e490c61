"""Commission on moto in-process: complete, idempotent, resumable, concurrent-safe."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.engine.events import StepSucceeded
from argos_cloud.errors import ArgosError, Interrupted, LockHeld
from argos_cloud.sandbox.faults import CallCounter
from argos_cloud.workflows.commission import execute, prepare
from tests.aws.commission_env import inventory, open_env

pytestmark = pytest.mark.aws

EXPECTED = {
    "image.image", "bucket.shared", "iam_role.shared", "instance_profile.shared",
    "parameter.shared.database-password", "parameter.shared.secret-key",
    "parameter.shared.broker-password", "security_group.lb", "security_group.master",
    "security_group.database", "security_group.broker", "security_group.app",
    "security_group.worker", "instance.master", "volume.database.data", "instance.database",
    "instance.broker", "bundle.shared", "target_group.app", "load_balancer.app", "listener.app",
    "launch_template.app", "auto_scaling_group.app", "scaling_policy.app",
    "launch_template.worker", "auto_scaling_group.worker", "scaling_policy.worker",
}


@pytest.fixture(autouse=True)
def _managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def commission(session) -> None:  # type: ignore[no-untyped-def]
    prepared = prepare(session)
    if not prepared.plan.empty:
        execute(session, prepared)


def test_commission_builds_every_resource_once(aws: Clients, tmp_path: Path) -> None:
    session = open_env(aws, tmp_path)
    commission(session)
    assert inventory(session) == dict.fromkeys(EXPECTED, 1)
    instance = aws.ec2.describe_instances(Filters=[
        {"Name": "tag:Name", "Values": ["argos-qa-database"]},
        {"Name": "instance-state-name", "Values": ["running"]}])["Reservations"][0][
        "Instances"][0]
    devices = {m["DeviceName"]: m["Ebs"] for m in instance["BlockDeviceMappings"]}
    assert devices["/dev/sdf"]["DeleteOnTermination"] is False  # the data volume survives
    assert aws.ssm.get_parameter(Name="/argos-cloud/argos/qa/master-address")["Parameter"][
        "Value"]


def test_a_second_run_plans_nothing_and_makes_no_mutating_call(
        aws: Clients, tmp_path: Path) -> None:
    session = open_env(aws, tmp_path)
    commission(session)
    password = aws.ssm.get_parameter(Name="/argos-cloud/argos/qa/database-password",
                                     WithDecryption=True)["Parameter"]["Value"]
    counter = CallCounter()
    fresh = open_env(aws, tmp_path)
    fresh.clients.on("before-call", counter)
    # clients are cached per Clients object: make a new one so the hook applies
    from argos_cloud.aws.session import make_clients

    fresh.clients = make_clients(region="us-east-1", sandbox=True)
    fresh.clients.on("before-call", counter)
    plan = prepare(fresh).plan
    assert plan.empty, [c.to_json() for c in plan.pending]
    assert not counter.mutating(), counter.mutating()
    assert aws.ssm.get_parameter(Name="/argos-cloud/argos/qa/database-password",
                                 WithDecryption=True)["Parameter"]["Value"] == password


def test_a_resource_removed_by_hand_is_planned_and_recreated(
        aws: Clients, tmp_path: Path) -> None:
    session = open_env(aws, tmp_path)
    commission(session)
    aws.autoscaling.delete_auto_scaling_group(AutoScalingGroupName="argos-qa-worker",
                                              ForceDelete=True)
    plan = prepare(session).plan
    # its policy went with it (policies are found through their group)
    assert [(c.action.value, c.address) for c in plan.pending] == [
        ("create", "auto_scaling_group.worker"), ("create", "scaling_policy.worker")]
    commission(session)
    assert inventory(session) == dict.fromkeys(EXPECTED, 1)


@pytest.mark.parametrize("after", range(1, 24, 3))  # every third boundary but the last few
def test_an_interrupted_run_resumes_to_the_same_inventory(
        aws: Clients, tmp_path: Path, after: int) -> None:
    session = open_env(aws, tmp_path)
    stop = threading.Event()

    class StopAfter:
        def __init__(self) -> None:
            self.done = 0

        def on_event(self, event: object) -> None:
            if isinstance(event, StepSucceeded):
                self.done += 1
                if self.done >= after:
                    stop.set()

    with pytest.raises(Interrupted):
        execute(session, prepare(session), hook=StopAfter(), parallel=2, stop=stop)
    partial = inventory(session)
    assert 0 < len(partial) < len(EXPECTED)
    assert all(n == 1 for n in partial.values())
    commission(session)
    assert inventory(session) == dict.fromkeys(EXPECTED, 1)
    assert prepare(session).plan.empty
    entries = session.journal().entries()
    assert [e.result for e in entries[:2]] == ["succeeded", "interrupted"]


def test_a_second_commission_is_refused_while_the_first_holds_the_lock(
        aws: Clients, tmp_path: Path) -> None:
    session = open_env(aws, tmp_path)
    prepared = prepare(session)
    held = session.lock("deploy")
    held.acquire()
    try:
        with pytest.raises(LockHeld) as caught:
            execute(session, prepared)
        assert "deploy" in str(caught.value)
    finally:
        held.release()
    assert inventory(session) == {}


def test_two_concurrent_commissions_make_one_environment(aws: Clients, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    first, second = open_env(aws, tmp_path / "a"), open_env(aws, tmp_path)
    plans = [prepare(first), prepare(second)]
    errors: list[BaseException] = []

    def run(session, prepared) -> None:  # type: ignore[no-untyped-def]
        try:
            execute(session, prepared)
        except ArgosError as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(s, p))
               for s, p in zip((first, second), plans, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert len(errors) <= 1  # the loser is refused (lock held, or plan made stale)
    commission(first)
    assert inventory(first) == dict.fromkeys(EXPECTED, 1)


def test_no_secret_reaches_user_data_tags_or_the_bundle(aws: Clients, tmp_path: Path) -> None:
    import base64
    import io
    import tarfile

    session = open_env(aws, tmp_path)
    commission(session)
    params = aws.ssm.get_parameters_by_path(Path="/argos-cloud/argos/qa", Recursive=True,
                                            WithDecryption=True)["Parameters"]
    secrets = [p["Value"] for p in params if p["Type"] == "SecureString"]
    assert len(secrets) == 3 and all(len(s) >= 32 for s in secrets)
    seen: list[str] = []
    for reservation in aws.ec2.describe_instances()["Reservations"]:
        for instance in reservation["Instances"]:
            seen.append(str(instance.get("Tags")))
            data = aws.ec2.describe_instance_attribute(
                InstanceId=instance["InstanceId"], Attribute="userData")["UserData"]
            if data.get("Value"):
                seen.append(base64.b64decode(data["Value"]).decode())
    for template in aws.ec2.describe_launch_templates()["LaunchTemplates"]:
        version = aws.ec2.describe_launch_template_versions(
            LaunchTemplateId=template["LaunchTemplateId"])["LaunchTemplateVersions"][0]
        seen.append(base64.b64decode(version["LaunchTemplateData"]["UserData"]).decode())
    bucket = "argos-cloud-argos-qa-123456789012"
    for obj in aws.s3.list_objects_v2(Bucket=bucket)["Contents"]:
        body = aws.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
            for member in tar.getmembers():
                extracted = tar.extractfile(member)
                if extracted is not None:
                    seen.append(extracted.read().decode(errors="replace"))
    assert len(seen) > 10
    text = "\n".join(seen)
    assert "salt-minion" in text or "salt" in text  # we looked at real content
    for secret in secrets:
        assert secret not in text


def test_a_bake_longer_than_the_lease_keeps_the_lock_and_a_second_commission_is_refused(
        aws: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime, timedelta

    from argos_cloud.clock import FakeClock
    from argos_cloud.engine import lock as lock_module
    from argos_cloud.engine.lock import LEASE_SECONDS, who_am_i
    from argos_cloud.provision.remote import CommandResult, FakeExecutor

    clock = FakeClock()
    start = datetime(2026, 11, 25, 10, 42, 0, tzinfo=UTC)

    def wall() -> datetime:  # lock and journal records follow the fake clock
        return start + timedelta(seconds=clock.now())

    (tmp_path / "first").mkdir()
    first = open_env(aws, tmp_path / "first", clock=clock)
    second = open_env(aws, tmp_path, clock=clock)
    first.now = second.now = wall
    prepared, theirs = prepare(first), prepare(second)
    meanwhile: list[BaseException] = []

    class SlowBake:
        """The bake's Salt run polls for 40 minutes on the session's clock, as SSM's does."""

        def __init__(self) -> None:
            self.inner = FakeExecutor(emulated=True)
            self.sent = self.inner.sent

        def run(self, instance_ids: list[str], commands: list[str], *, comment: str,
                timeout: float) -> CommandResult:
            if comment.startswith("argos-cloud bake"):
                for minute in range(1, 41):
                    first.clock.sleep(60)
                    if minute == 30:  # 6 leases in: a second commission, from elsewhere
                        assert clock.now() >= 6 * LEASE_SECONDS
                        with monkeypatch.context() as patch:
                            patch.setattr(lock_module, "this_host", lambda: "build-02")
                            try:
                                execute(second, theirs)
                            except BaseException as e:  # asserted after the run
                                meanwhile.append(e)
            return self.inner.run(instance_ids, commands, comment=comment, timeout=timeout)

    result = execute(first, prepared, executor=SlowBake())
    assert result.ok
    assert len(meanwhile) == 1 and isinstance(meanwhile[0], LockHeld), meanwhile
    refused = meanwhile[0]
    assert (refused.holder, refused.operation) == (who_am_i(), "commission")
    assert refused.holder in str(refused)
    assert inventory(first) == dict.fromkeys(EXPECTED, 1)
    assert [(e.command, e.result) for e in first.journal().entries()] == [
        ("commission", "succeeded")]
    assert first.lock("status").holder() is None
