"""`exec` on moto: one healthy instance by default, every one with --all, exit codes
aggregated, the history says who, what, where and the result, never the output."""

from __future__ import annotations

from pathlib import Path

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.errors import BadInput, Refused
from argos_cloud.provision.app_exec import exec_script
from argos_cloud.provision.remote import FakeExecutor, InvocationResult
from argos_cloud.workflows.commission import execute, prepare
from argos_cloud.workflows.exec import run_exec
from argos_cloud.workflows.scale import scale
from argos_cloud.workflows.session import Session
from argos_cloud.workflows.targets import Target, choose
from tests.aws.commission_env import open_env

pytestmark = pytest.mark.aws
COMMAND = ["python", "-c", "print(1)"]


@pytest.fixture(autouse=True)
def _managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


@pytest.fixture
def session(aws: Clients, tmp_path: Path) -> Session:
    """Commissioned, then the app group scaled to 2 (moto: every member is healthy)."""
    opened = open_env(aws, tmp_path)
    execute(opened, prepare(opened))
    scale(opened, {"app": 2})
    return opened


def app_members(aws: Clients) -> list[str]:
    group = aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["argos-qa-app"])["AutoScalingGroups"][0]
    return sorted(i["InstanceId"] for i in group["Instances"])


def test_the_default_is_one_healthy_app_instance(aws: Clients, session: Session) -> None:
    fake = FakeExecutor(respond=lambda iid, commands: "1\n")
    result = run_exec(session, COMMAND, executor=fake)
    members = app_members(aws)
    assert len(members) == 2
    assert [s.targets for s in fake.sent] == [(members[0],)]  # one, never all by surprise
    assert fake.sent[0].commands == tuple(exec_script(COMMAND))
    assert result.ok and [(r.instance_id, r.stdout, r.exit_code) for r in result.ran] == [
        (members[0], "1\n", 0)]


def test_all_runs_everywhere_and_one_failure_fails_the_run(aws: Clients,
                                                           session: Session) -> None:
    members = app_members(aws)

    def respond(iid: str, commands: list[str]) -> InvocationResult:
        code = 3 if iid == members[1] else 0
        return InvocationResult(iid, "Success" if code == 0 else "Failed", "secret-output",
                                "boom" if code else "", code)

    fake = FakeExecutor(respond=respond)
    result = run_exec(session, ["manage.py", "fix"], every=True, executor=fake)
    assert [s.targets for s in fake.sent] == [tuple(members)]
    assert not result.ok
    assert [(r.instance_id, r.ok, r.exit_code) for r in result.ran] == [
        (members[0], True, 0), (members[1], False, 3)]
    entry = session.journal().entries(1)[0]
    assert (entry.command, entry.result, entry.failed_step) == ("exec", "failed", "exec")
    assert entry.detail == (f"manage.py fix on {members[0]} (app) exit 0, "
                            f"{members[1]} (app) exit 3")
    assert "secret-output" not in entry.to_json() and "boom" not in entry.to_json()


def test_a_named_instance_of_another_role_runs_there(aws: Clients, session: Session) -> None:
    worker = aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["argos-qa-worker"])["AutoScalingGroups"][0]["Instances"][0][
        "InstanceId"]
    fake = FakeExecutor(respond=lambda iid, commands: "")
    result = run_exec(session, COMMAND, instance_id=worker, executor=fake)
    assert [s.targets for s in fake.sent] == [(worker,)]
    assert result.ran[0].role == "worker"
    entry = session.journal().entries(1)[0]
    assert (entry.result, entry.detail) == ("succeeded",
                                            f"python -c 'print(1)' on {worker} (worker) exit 0")


def test_refusals_send_nothing(session: Session) -> None:
    fake = FakeExecutor()
    with pytest.raises(BadInput, match="not a running instance"):
        run_exec(session, COMMAND, instance_id="i-0123456789abcdef0", executor=fake)
    with pytest.raises(BadInput, match="after --"):
        run_exec(session, [], executor=fake)
    with pytest.raises(BadInput, match="exclude"):
        run_exec(session, COMMAND, instance_id="i-1", every=True, executor=fake)
    assert fake.sent == []


def test_the_ssm_executor_on_moto_sends_and_reports_emulated(aws: Clients,
                                                             session: Session) -> None:
    result = run_exec(session, COMMAND, role="database")
    assert result.emulated and result.ok and len(result.ran) == 1
    sent = aws.ssm.list_commands()["Commands"]
    mine = [c for c in sent if c["Comment"] == "argos-cloud exec qa"]
    assert mine and mine[0]["Parameters"]["commands"] == exec_script(COMMAND)


def test_choose_takes_a_healthy_one_and_names_the_unhealthy_when_none_is() -> None:
    sick = Target("i-1", "app", None, False, "unhealthy behind the load balancer")
    well = Target("i-2", "app", None, True, "healthy")
    assert choose([sick, well], role="app", instance_id=None, every=False, where="a/qa") == [
        well]
    assert choose([sick, well], role="app", instance_id="i-1", every=False,
                  where="a/qa") == [sick]  # named: the user's choice
    with pytest.raises(Refused, match="i-1: unhealthy behind the load balancer"):
        choose([sick], role="app", instance_id=None, every=False, where="a/qa")
    with pytest.raises(Refused, match="no running worker"):
        choose([sick], role="worker", instance_id=None, every=False, where="a/qa")
