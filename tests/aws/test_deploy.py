"""deploy / rollback / history on moto, with a fake executor answering as Salt's master would.

Most tests build the minimum a deploy reads by hand (tagged master, database and
broker instances, the app and worker groups, the artifact bucket and the bundle
record): a full in-process commission costs ~25 s of moto's IAM policy loading.
One test runs the real commission end to end.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.aws.store import ParameterStore
from argos_cloud.cli.args import Arguments
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.options import DeployOptions, HistoryOptions
from argos_cloud.cli.views import ProgressHook, View
from argos_cloud.cli.views.deploy import deploy_lines
from argos_cloud.clock import FakeClock
from argos_cloud.config import load_environment
from argos_cloud.engine.lock import EnvironmentLock
from argos_cloud.errors import BadInput, ExitStatus, LockHeld, OperationFailed, Refused
from argos_cloud.kinds import target_group
from argos_cloud.kinds.auto_scaling_group import group_tags
from argos_cloud.model.names import Scope, tag_specifications
from argos_cloud.provision.remote import FakeExecutor
from argos_cloud.provision.userdata import minion_user_data
from argos_cloud.workflows import deploy as workflow
from argos_cloud.workflows.readiness import READY, WAITING, MasterNotReady, probe_commands
from argos_cloud.workflows.session import Session

pytestmark = pytest.mark.aws

ROOT = Path(__file__).resolve().parents[2]
A, B, C = "a" * 40, "b" * 40, "c" * 40
SCOPE = Scope("argos", "qa")


# -- helpers
def make_session(tmp_path: Path, clients: Clients, name: str = "qa") -> Session:
    text = (ROOT / "argos-cloud.toml").read_text().replace(
        'base_ami_owner = "136693071363"', 'base_ami_owner = "self"').replace(
        'repository = "reference-app"', 'repository = "https://git.example.invalid/argos.git"')
    (tmp_path / "argos-cloud.toml").write_text(text)
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy", dirs_exist_ok=True)
    spec = load_environment(tmp_path / "argos-cloud.toml", name, profile=None,
                            environ={"ARGOS_CLOUD_PROVIDER": "aws"})
    return Session(spec=spec, clients=clients, state_dir=tmp_path / ".argos-cloud",
                   clock=FakeClock())


def register_image(clients: Clients) -> str:
    return str(clients.ec2.register_image(
        Name="debian-12-amd64-20240101-1000",
        RootDeviceName="/dev/sda1",
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}])["ImageId"])


def build_environment(clients: Clients, *, app: int = 4, worker: int = 2) -> dict[str, Any]:
    """The minimum a deploy reads, tagged as commission tags it."""
    ec2 = clients.ec2
    image = register_image(clients)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])[
        "Subnets"][0]["SubnetId"]
    ids = {}
    for role in ("master", "database", "broker"):
        ids[role] = ec2.run_instances(
            ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.small", SubnetId=subnet,
            TagSpecifications=tag_specifications(SCOPE.tags(role), "instance"),
        )["Instances"][0]["InstanceId"]
    bucket = "argos-cloud-argos-qa-123456789012"
    clients.s3.create_bucket(Bucket=bucket)
    clients.ssm.put_parameter(Name=SCOPE.parameter("bundle"), Type="String", Value=json.dumps(
        {"bucket": bucket, "key": "bundles/old.tar.gz", "digest": "0" * 64, "commit": "main"}))
    arn = clients.elbv2.create_target_group(
        Name=SCOPE.name("app"), Protocol="HTTP", Port=8000, VpcId=vpc["VpcId"],
        Tags=[{"Key": k, "Value": v} for k, v in SCOPE.tags("app").items()],
    )["TargetGroups"][0]["TargetGroupArn"]
    for role, count in (("app", app), ("worker", worker)):
        ec2.create_launch_template(LaunchTemplateName=SCOPE.name(role), LaunchTemplateData={
            "ImageId": image, "InstanceType": "t3.small"})
        clients.autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=SCOPE.name(role),
            LaunchTemplate={"LaunchTemplateName": SCOPE.name(role), "Version": "$Default"},
            MinSize=count, MaxSize=count, DesiredCapacity=count, VPCZoneIdentifier=subnet,
            Tags=group_tags(SCOPE.name(role), SCOPE.tags(role)),
            **({"TargetGroupARNs": [arn]} if role == "app" else {}))
    groups = clients.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    members = {g["AutoScalingGroupName"]: sorted(i["InstanceId"] for i in g["Instances"])
               for g in groups}
    return {**ids, "bucket": bucket, "target_group": arn,
            "app": members[SCOPE.name("app")], "worker": members[SCOPE.name("worker")]}


def applied(failed: bool) -> dict[str, Any]:
    return {"pkg_|-nginx_|-nginx_|-installed": {"result": True, "comment": "installed"},
            "git_|-app_source_|-https://example.invalid/argos.git_|-latest": {
                "result": not failed, "comment": "fatal: not a tree" if failed else "ok",
                "__id__": "app_source"}}


def salt_master(failed: Collection[str] = (), silent: Collection[str] = (),
                ) -> Callable[[str, list[str]], str]:
    """Answers like `salt --static --out=json` for the minions listed in the L@ target."""
    def respond(instance_id: str, commands: list[str]) -> str:
        if commands == probe_commands():  # the master is asked whether it is ready first
            return READY
        match = re.search(r"L@([^' ]+)", commands[-1])
        if match is None:  # a bundle sync: no output
            return ""
        minions = match.group(1).split(",")
        return json.dumps({m: applied(any(f in m for f in failed)) for m in minions
                           if not any(s in m for s in silent)}, indent=4)
    return respond


def real(clients: Clients) -> Clients:
    """What the code sees on real AWS: not an emulator (moto is still underneath)."""
    clients.emulated = False
    return clients


def deployed(clients: Clients) -> str | None:
    return ParameterStore(clients.ssm).get(SCOPE.parameter("deployed-ref"))


def bundle_record(clients: Clients) -> dict[str, Any]:
    return dict(json.loads(clients.ssm.get_parameter(Name=SCOPE.parameter("bundle"))[
        "Parameter"]["Value"]))


# -- pure pieces
@pytest.mark.parametrize(("batch", "count", "size"), [
    ("1", 4, 1), ("3", 4, 3), ("50%", 4, 2), ("50%", 3, 2), ("10%", 4, 1), ("100%", 5, 5),
    ("25%", 0, 1)])
def test_batch_size(batch: str, count: int, size: int) -> None:
    assert workflow.batch_size(batch, count) == size


@pytest.mark.parametrize("batch", ["0", "0%", "101%", "half", "-1", ""])
def test_a_bad_batch_is_bad_input(batch: str) -> None:
    with pytest.raises(BadInput, match="--batch"):
        workflow.batch_size(batch, 4)


def test_the_highstate_command_targets_grains_and_the_batch_list() -> None:
    lines = workflow.highstate_command(SCOPE, "app", ["argos-qa-app-i-1", "argos-qa-app-i-2"],
                                       "bkt", "bundles/x.tar.gz", "us-east-1")
    assert lines[-1] == ("salt --out=json --static -t 1800 -C 'G@environment:qa and "
                         "G@project:argos and G@roles:app and L@argos-qa-app-i-1,argos-qa-app-i-2' "
                         "state.highstate queue=True | /opt/salt/bin/python -c "
                         + shlex.quote(workflow.COMPACT))
    assert lines[:-2] == workflow.sync_command("bkt", "bundles/x.tar.gz", "us-east-1")
    assert "-L argos-qa-app-i-1,argos-qa-app-i-2 test.ping" in lines[-2]
    assert lines[0] == "set -euo pipefail"


def test_the_master_side_filters_wait_for_every_minion_and_keep_the_verdict() -> None:
    def run(code: str, stdin: str, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", code, *argv], input=stdin, text=True,
                              capture_output=True, check=False)

    up = json.dumps({"m1": True, "m2": True})
    assert run(workflow.ALL_UP, up, "m1", "m2").returncode == 0
    assert run(workflow.ALL_UP, json.dumps({"m1": True}), "m1", "m2").returncode == 1
    assert run(workflow.ALL_UP, "", "m1").returncode == 1  # no minion matched yet
    big = {"m1": {"pkg_|-x_|-x_|-installed": {"result": False, "__id__": "x",
                                              "comment": "c" * 5000,
                                              "changes": {"stdout": "y" * 50000}}}}
    compact = json.loads(run(workflow.COMPACT, json.dumps(big)).stdout)
    assert compact == {"m1": {"pkg_|-x_|-x_|-installed": {
        "result": False, "__id__": "x", "comment": "c" * 300, "changed": True}}}
    assert json.loads(run(workflow.COMPACT, "").stdout) == {}


def test_expected_minion_ids_are_the_ones_the_user_data_sets() -> None:
    data = minion_user_data(SCOPE, "app", "3008.4", "us-east-1")
    assert f"id: {workflow.minion_id(SCOPE, 'app', '${INSTANCE_ID}')}\n" in data


# -- deploy
def test_deploy_sends_targeted_batches_to_the_master_only_and_records_the_commit(
        aws: Clients, tmp_path: Path) -> None:
    env = build_environment(real(aws))
    session = make_session(tmp_path, aws)
    fake = FakeExecutor(respond=salt_master())
    result = workflow.deploy(session, ref=A, roles=["app", "worker"], batch="50%",
                             executor=fake)
    assert result.ok and result.recorded and not result.emulated
    assert [b.step for b in result.batches] == [
        "app batch 1/2", "app batch 2/2", "worker batch 1/2", "worker batch 2/2"]
    expected = [env["app"][:2], env["app"][2:], env["worker"][:1], env["worker"][1:]]
    assert [b.instance_ids for b in result.batches] == expected
    probe, *runs = fake.sent
    assert probe.commands == tuple(probe_commands()) and probe.targets == (env["master"],)
    assert len(runs) == 4
    for sent, ids in zip(runs, expected, strict=True):
        assert sent.targets == (env["master"],)
        salt = sent.commands[-1]
        assert "G@environment:qa and G@project:argos" in salt
        assert "L@" + ",".join(f"argos-qa-{'app' if ids[0] in env['app'] else 'worker'}-{i}"
                               for i in ids) in salt
    assert all(b.health == dict.fromkeys(b.instance_ids, "healthy")
               for b in result.batches if b.role == "app")
    assert deployed(aws) == A
    assert bundle_record(aws)["commit"] == A
    entry = session.journal().entries(limit=1)[0]
    assert (entry.command, entry.result, entry.commit) == ("deploy", "succeeded", A)


def test_a_new_master_is_waited_for_before_the_first_batch_is_sent(
        aws: Clients, tmp_path: Path) -> None:
    """Issue 23: a deploy sent while the master still installs Salt failed at once."""
    env = build_environment(real(aws))
    session = make_session(tmp_path, aws)
    salt, asked = salt_master(), []

    def respond(instance_id: str, commands: list[str]) -> str:
        if commands == probe_commands():
            asked.append(instance_id)
            return READY if len(asked) == 3 else f"{WAITING} Salt is not installed yet"
        return salt(instance_id, commands)

    fake = FakeExecutor(respond=respond)
    result = workflow.deploy(session, ref=A, roles=["worker"], batch="100%", executor=fake)
    assert result.ok and deployed(aws) == A and asked == [env["master"]] * 3
    kinds = ["probe" if s.commands == tuple(probe_commands()) else "salt" for s in fake.sent]
    assert kinds == ["probe", "probe", "probe", "salt"]


def test_a_master_that_never_gets_ready_fails_the_deploy_before_anything_changes(
        aws: Clients, tmp_path: Path) -> None:
    build_environment(real(aws))
    session = make_session(tmp_path, aws)
    fake = FakeExecutor(respond=lambda instance, commands: f"{WAITING} salt-master is not running")
    with pytest.raises(MasterNotReady, match="not ready after 1800 s: salt-master is not"):
        workflow.deploy(session, ref=A, roles=["worker"], batch="100%", executor=fake)
    assert all(s.commands == tuple(probe_commands()) for s in fake.sent)
    assert deployed(aws) is None and bundle_record(aws)["key"] == "bundles/old.tar.gz"
    entry = session.journal().entries(limit=1)[0]
    assert (entry.command, entry.result) == ("deploy", "failed")


def test_an_unhealthy_app_batch_stops_the_deploy_and_leaves_the_rest_alone(
        aws: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = build_environment(real(aws))
    session = make_session(tmp_path, aws)
    first = workflow.deploy(session, ref=A, roles=["app"], batch="1",
                            executor=FakeExecutor(respond=salt_master()))
    sick = env["app"][1]
    real_health = target_group.target_health
    monkeypatch.setattr(target_group, "target_health", lambda clients, arn: {
        i: ("unhealthy" if i == sick else state)
        for i, state in real_health(clients, arn).items()})
    fake = FakeExecutor(respond=salt_master())
    with pytest.raises(workflow.DeployFailed) as failure:
        workflow.deploy(session, ref=B, roles=["app"], batch="1", executor=fake)
    result = failure.value.result
    assert [b.status for b in result.batches] == ["applied", "failed", "not run", "not run"]
    assert f"{sick} is unhealthy" in str(failure.value)
    salt_runs = [s for s in fake.sent if "state.highstate" in s.commands[-1]]
    forward = [s for s in salt_runs if "bring back" not in s.comment]
    assert len(forward) == 2  # batches 3 and 4 were never sent
    restored = next(i for i, s in enumerate(fake.sent) if "restore bundle" in s.comment)
    back = [s for s in fake.sent[restored:] if "bring back" in s.comment]
    # The two batches that ran B run A again, from A's bundle, after it was put back.
    assert [s.comment.rsplit(" ", 3)[-3:] for s in back] == [["app", "batch", "1/4"],
                                                             ["app", "batch", "2/4"]]
    assert all(any(first.bundle_key in c for c in s.commands) for s in back)
    assert any(f"brought back to {A}" in n for n in result.notes)
    assert deployed(aws) == A and result.previous == A
    assert bundle_record(aws)["commit"] == A and bundle_record(aws)["key"] == first.bundle_key
    entry = next(e for e in session.journal().entries() if e.commit == B)
    assert (entry.result, entry.failed_step) == ("failed", "app batch 2/4")


def test_a_failed_state_fails_the_deploy_naming_minion_and_state(
        aws: Clients, tmp_path: Path) -> None:
    env = build_environment(real(aws))
    session = make_session(tmp_path, aws)
    bad = env["worker"][0]
    with pytest.raises(workflow.DeployFailed) as failure:
        workflow.deploy(session, ref=A, roles=["worker"], batch="100%",
                        executor=FakeExecutor(respond=salt_master(failed={bad})))
    assert f"argos-qa-worker-{bad}: state app_source (git.latest) failed" in str(failure.value)
    assert failure.value.exit_status is ExitStatus.FAILED
    assert deployed(aws) is None
    assert bundle_record(aws)["commit"] == "main"  # the previous bundle is back


def test_a_silent_minion_fails_the_deploy_naming_it(aws: Clients, tmp_path: Path) -> None:
    env = build_environment(real(aws))
    session = make_session(tmp_path, aws)
    quiet = env["app"][3]
    with pytest.raises(workflow.DeployFailed, match=f"argos-qa-app-{quiet} did not answer"):
        workflow.deploy(session, ref=A, roles=["app"], batch="100%",
                        executor=FakeExecutor(respond=salt_master(silent={quiet})))
    assert deployed(aws) is None


def test_missing_salt_output_on_real_aws_is_a_failure(aws: Clients, tmp_path: Path) -> None:
    build_environment(real(aws))
    session = make_session(tmp_path, aws)
    with pytest.raises(workflow.DeployFailed, match="no Salt output"):
        workflow.deploy(session, ref=A, roles=["worker"], batch="1",
                        executor=FakeExecutor(respond=lambda instance, commands: (
                            READY if commands == probe_commands() else "")))
    assert deployed(aws) is None


def test_an_emulated_deploy_says_so_and_completes(aws: Clients, tmp_path: Path) -> None:
    env = build_environment(aws)  # aws.emulated: moto, as the sandbox is
    session = make_session(tmp_path, aws)
    fake = FakeExecutor(emulated=True)
    result = workflow.deploy(session, ref=A, roles=["app", "worker"], batch="100%",
                             executor=fake)
    assert result.ok and result.emulated and deployed(aws) == A
    assert [b.status for b in result.batches] == ["emulated", "emulated"]
    text = "\n".join(deploy_lines(result))
    assert "Salt did not run; no state is reported applied" in text
    assert "applied" not in [b.status for b in result.batches]
    doc = result.to_json()
    assert doc["execution"].startswith("execution emulated")
    assert [c["targets"] for c in doc["commands"]] == [[env["master"]], [env["master"]]]


def test_a_deploy_while_the_lock_is_held_is_refused_naming_the_holder(
        aws: Clients, tmp_path: Path) -> None:
    build_environment(aws)
    session = make_session(tmp_path, aws)
    other = EnvironmentLock(ParameterStore(aws.ssm), SCOPE, who="ci@build-01",
                            operation="commission")
    other.acquire()
    fake = FakeExecutor(emulated=True)
    with pytest.raises(LockHeld, match="ci@build-01") as refused:
        workflow.deploy(session, ref=A, roles=["app"], batch="1", executor=fake)
    assert refused.value.exit_status is ExitStatus.REFUSED
    assert fake.sent == [] and deployed(aws) is None


def test_lock_wait_waits_for_a_live_holder_to_release_then_deploys(
        aws: Clients, tmp_path: Path) -> None:
    build_environment(aws)
    session = make_session(tmp_path, aws)
    holder = EnvironmentLock(ParameterStore(aws.ssm), SCOPE, who="ci@build-01",
                             operation="commission", host="build-01")
    holder.acquire()

    class ReleasingClock(FakeClock):
        """The holder finishes 15 s into our wait."""

        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            if self.now() >= 15 and holder.record is not None:
                holder.release()

    clock = ReleasingClock()
    session.clock, session.lock_wait = clock, 30  # --lock-wait 30
    result = workflow.deploy(session, ref=A, roles=["app"], batch="1",
                             executor=FakeExecutor(emulated=True))
    assert result.recorded and deployed(aws) == A
    assert clock.slept[:3] == [5, 5, 5]  # polled until the holder let go
    entry = session.journal().entries(limit=1)[0]
    assert (entry.command, entry.result, entry.commit) == ("deploy", "succeeded", A)


def test_an_environment_never_commissioned_is_refused(aws: Clients, tmp_path: Path) -> None:
    session = make_session(tmp_path, aws)
    with pytest.raises(Refused, match="not commissioned"):
        workflow.deploy(session, ref=A, roles=["app"], batch="1",
                        executor=FakeExecutor(emulated=True))


def test_a_name_that_cannot_be_resolved(aws: Clients, tmp_path: Path) -> None:
    build_environment(aws)
    session = make_session(tmp_path, aws)

    def unreachable(repository: str, ref: str) -> str:
        raise OperationFailed(f"cannot reach {repository}: no network")

    result = workflow.deploy(session, ref="main", roles=["app"], batch="100%",
                             executor=FakeExecutor(emulated=True), resolve=unreachable)
    assert result.commit == "main" and deployed(aws) == "main"
    assert any("recorded as given" in n for n in result.notes)
    real(aws)
    with pytest.raises(OperationFailed, match="cannot reach"):
        workflow.deploy(session, ref="main", roles=["app"], batch="100%",
                        executor=FakeExecutor(), resolve=unreachable)


# -- rollback and history
def test_rollback_returns_to_the_previous_successful_commit(
        aws: Clients, tmp_path: Path) -> None:
    build_environment(real(aws))
    session = make_session(tmp_path, aws)
    ok = FakeExecutor(respond=salt_master())
    workflow.deploy(session, ref=A, roles=["app"], batch="100%", executor=ok)
    workflow.deploy(session, ref=B, roles=["app"], batch="100%", executor=ok)
    with pytest.raises(workflow.DeployFailed):
        workflow.deploy(session, ref=C, roles=["app"], batch="100%",
                        executor=FakeExecutor(respond=salt_master(failed={"app"})))
    assert deployed(aws) == B
    result = workflow.rollback(session, roles=["app"], batch="100%", executor=ok)
    assert result.commit == A and deployed(aws) == A
    assert any("rolling back to " + A in n for n in result.notes)
    entries = workflow.history(session, limit=10)
    # journal ids have second precision: within one second their order is arbitrary
    assert sorted((e.command, e.commit, e.result) for e in entries) == [
        ("deploy", A, "succeeded"), ("deploy", B, "succeeded"), ("deploy", C, "failed"),
        ("rollback", A, "succeeded")]
    assert workflow.history(session, limit=10, offline=True) == entries


def test_rollback_without_an_earlier_deploy_is_refused_clearly(
        aws: Clients, tmp_path: Path) -> None:
    build_environment(real(aws))
    session = make_session(tmp_path, aws)
    with pytest.raises(BadInput, match="no earlier successful deploy to roll back to"):
        workflow.rollback(session, executor=FakeExecutor())
    workflow.deploy(session, ref=A, roles=["app"], batch="100%",
                    executor=FakeExecutor(respond=salt_master()))
    with pytest.raises(BadInput, match=f"no earlier successful deploy.*{A}"):
        workflow.rollback(session, executor=FakeExecutor())


# -- the command line
def _cli(command: str, session: Session,
         options: DeployOptions | HistoryOptions) -> tuple[ExitStatus, Any]:
    from argos_cloud.cli import deploy_commands

    out = io.StringIO()
    env = Environment(stdin=io.StringIO(""), stdout=out, stderr=io.StringIO())
    args = Arguments(command=command, environment="qa", output="json", yes=True,
                     options=options)
    view = View(env, "json")
    status = getattr(deploy_commands, command)(args, env, view, session, ProgressHook(view))
    return status, json.loads(out.getvalue())


def test_the_cli_renders_deploy_and_history_as_json(aws: Clients, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    env = build_environment(aws)
    session = make_session(tmp_path, aws)
    fake = FakeExecutor(emulated=True)
    real_deploy = workflow.deploy
    monkeypatch.setattr(workflow, "deploy",
                        lambda s, **kw: real_deploy(s, **{**kw, "executor": fake}))
    status, doc = _cli("deploy", session, DeployOptions(ref=A, roles=("app",), batch="1"))
    assert status is ExitStatus.OK and doc["commit"] == A and doc["emulated"] is True
    assert doc["commands"][0]["targets"] == [env["master"]]
    status, doc = _cli("history", session, HistoryOptions(limit=5))
    assert doc["environment"] == "qa"
    assert [(e["command"], e["commit"], e["result"]) for e in doc["entries"]] == [
        ("deploy", A, "succeeded")]
    assert set(doc["entries"][0]) == {"command", "commit", "who", "at", "finished", "result",
                                      "failed_step", "detail"}


# -- end to end, after a real commission (slow: moto loads every AWS managed policy)
def test_after_commission_deploy_a_deploy_b_rollback_leaves_a(
        aws: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from argos_cloud.workflows.commission import execute, prepare
    from argos_cloud.workflows.status import status

    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    register_image(aws)
    session = make_session(tmp_path, aws)
    execute(session, prepare(session), executor=FakeExecutor(emulated=True))
    master = session.clients.ec2.describe_instances(Filters=[
        *SCOPE.tag_filters(), {"Name": "tag:argos-cloud:role", "Values": ["master"]},
        {"Name": "instance-state-name", "Values": ["running", "pending"]}])[
        "Reservations"][0]["Instances"][0]["InstanceId"]
    fake = FakeExecutor(emulated=True)
    workflow.deploy(session, ref=A, roles=None, batch="50%", executor=fake)
    workflow.deploy(session, ref=B, roles=None, batch="50%", executor=fake)
    workflow.rollback(session, executor=fake)
    assert status(session).to_json()["deployed_ref"] == A
    assert sorted((e.command, e.commit) for e in workflow.history(session)
                  if e.command != "commission") == [("deploy", A), ("deploy", B), ("rollback", A)]
    assert fake.sent and all(s.targets == (master,) for s in fake.sent)
    assert all("G@environment:qa and G@project:argos" in s.commands[-1] for s in fake.sent)


# -- issue 19: a deploy takes each app batch out of rotation, with stand-ins for capacity
def test_each_app_batch_drains_before_its_highstate_and_stand_ins_keep_capacity(
        aws: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = build_environment(real(aws), app=2, worker=1)
    session = make_session(tmp_path, aws)
    log: list[tuple[str, tuple[str, ...]]] = []
    def recorded(name: str) -> Callable[[Clients, str, list[str]], None]:
        real_call = getattr(target_group, name)

        def call(clients: Clients, arn: str, ids: list[str]) -> None:
            log.append((name, tuple(ids)))
            real_call(clients, arn, ids)
        return call

    for name in ("deregister", "register"):
        monkeypatch.setattr(target_group, name, recorded(name))
    salt = salt_master()

    def respond(instance_id: str, commands: list[str]) -> str:
        match = re.search(r"L@([^' ]+)", commands[-1])
        if match is not None and "-app-" in match.group(1):
            serving = aws.elbv2.describe_target_health(TargetGroupArn=env["target_group"])
            log.append(("highstate", tuple(m.rsplit("-", 2)[-2] + "-" + m.rsplit("-", 1)[-1]
                                           for m in match.group(1).split(","))))
            log.append(("serving", tuple(sorted(
                d["Target"]["Id"] for d in serving["TargetHealthDescriptions"]
                if d["TargetHealth"]["State"] == "healthy"))))
        return salt(instance_id, commands)

    result = workflow.deploy(session, ref=A, roles=["app", "worker"], batch="1",
                             executor=FakeExecutor(respond=respond))
    assert result.ok and sorted(result.rotated) == ["app"]
    assert len(result.stand_ins) == 1 and result.stand_ins[0] not in env["app"]
    first, second = ([i] for i in env["app"])
    stand_in = result.stand_ins[0]
    assert log[:6] == [
        ("deregister", tuple(first)), ("highstate", tuple(first)),
        ("serving", tuple(sorted([second[0], stand_in]))), ("register", tuple(first)),
        ("deregister", tuple(second)), ("highstate", tuple(second))]
    # while one batch was out, two instances served: as many as before the deploy
    assert all(len(e[1]) == 2 for e in log if e[0] == "serving")
    group = aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[SCOPE.name("app")])["AutoScalingGroups"][0]
    assert (group["DesiredCapacity"], group["MaxSize"]) == (2, 2)
    assert stand_in not in {i["InstanceId"] for i in group["Instances"]}
    assert result.to_json()["stand_ins"] == [stand_in]


def test_a_stand_in_that_never_turns_healthy_stops_the_deploy_before_any_batch(
        aws: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = build_environment(real(aws), app=1, worker=1)
    session = make_session(tmp_path, aws)
    real_health = target_group.target_health
    monkeypatch.setattr(target_group, "target_health", lambda clients, arn: {
        i: (state if i in env["app"] else "unhealthy")
        for i, state in real_health(clients, arn).items()})
    fake = FakeExecutor(respond=salt_master())
    with pytest.raises(OperationFailed, match="stand-in app instance"):
        workflow.deploy(session, ref=A, roles=["app"], batch="100%", executor=fake)
    assert not [s for s in fake.sent if "state.highstate" in s.commands[-1]]
    group = aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[SCOPE.name("app")])["AutoScalingGroups"][0]
    assert [i["InstanceId"] for i in group["Instances"]] == env["app"]
    assert (group["DesiredCapacity"], group["MaxSize"]) == (1, 1)
    assert deployed(aws) is None
