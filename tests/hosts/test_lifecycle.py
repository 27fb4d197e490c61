"""The whole lifecycle on real machines, through the CLI a user runs (issues 15 and 11).

One commission for the module; each test reads or acts on the environment it
built, in order. Salt runs only inside the machines: every highstate here is
sent over SSM to the master machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.model.names import Scope
from argos_cloud.provision.userdata import minion_user_data
from argos_cloud.sandbox.load import Load, Tally
from argos_cloud.sandbox.server import Sandbox
from tests.hosts.conftest import launch, shell, wait

pytestmark = pytest.mark.hosts
ROOT = Path(__file__).resolve().parents[2]
SCOPE = Scope("argos", "qa")
ROLES = ("database", "broker", "app", "worker")


def cli(project: Path, *argv: str, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), "--yes", *argv],
                          cwd=project, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def commissioned(hosts_sandbox: Sandbox, hosts_project: Path) -> Iterator[Path]:
    done = cli(hosts_project, "qa", "commission")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    yield hosts_project


def instances(clients: Clients) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    pages = clients.ec2.get_paginator("describe_instances").paginate(Filters=[
        {"Name": "tag:argos-cloud:environment", "Values": ["qa"]},
        {"Name": "instance-state-name", "Values": ["running"]}])
    for page in pages:
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                found.setdefault(tags.get("argos-cloud:role", ""), []).append(instance)
    return found


def on_master(clients: Clients, *commands: str, timeout: int = 900) -> dict[str, Any]:
    master = instances(clients)["master"][0]["InstanceId"]
    return shell(clients, master, *commands, timeout=timeout)


def highstate(clients: Clients, role: str) -> dict[str, Any]:
    """The role's highstate through the master, parsed: minion -> state results."""
    done = on_master(clients, f"salt -t 900 --out=json --static -C "
                              f"'G@roles:{role} and G@environment:qa' state.highstate queue=True")
    assert done["Status"] == "Success", done["StandardErrorContent"][-2000:]
    parsed = json.loads(done["StandardOutputContent"])
    assert isinstance(parsed, dict) and parsed, done["StandardOutputContent"][-2000:]
    return dict(parsed)


def test_every_instance_is_a_running_machine_and_the_master_accepted_every_minion(
        commissioned: Path, clients: Clients, hosts_sandbox: Sandbox) -> None:
    found = instances(clients)
    assert {r: len(found.get(r, [])) for r in ("master", *ROLES)} == {
        "master": 1, "database": 1, "broker": 1, "app": 1, "worker": 1}
    machines = {m["instance_id"]: m["state"] for m in hosts_sandbox.status().machines}
    for role in ("master", *ROLES):
        assert machines[found[role][0]["InstanceId"]] == "running"
    keys = on_master(clients, "salt-key --out=json -L")
    accepted = json.loads(keys["StandardOutputContent"])["minions"]
    assert sorted(k.split("-i-")[0] for k in accepted) == sorted(
        f"argos-qa-{r}" for r in ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_converges_and_a_second_highstate_changes_nothing(
        commissioned: Path, clients: Clients, role: str) -> None:
    first = highstate(clients, role)  # the minions' own start-up run came before
    for minion, states in first.items():
        assert isinstance(states, dict), f"{minion}: {states}"
        failed = {k: v.get("comment") for k, v in states.items() if v.get("result") is False}
        assert failed == {}, f"{minion}: {failed}"
    again = highstate(clients, role)
    for minion, states in again.items():
        changed = sorted(k for k, v in states.items() if v.get("changes"))
        assert changed == [], f"{minion}: a second highstate changed {changed}"


def test_postgresql_accepts_the_app_and_refuses_the_master(
        commissioned: Path, clients: Clients) -> None:
    found = instances(clients)
    database = found["database"][0]["PrivateIpAddress"]
    password = clients.ssm.get_parameter(Name=SCOPE.parameter("database-password"),
                                         WithDecryption=True)["Parameter"]["Value"]
    query = (f"PGPASSWORD='{password}' psql -h {database} -U argos -d argos -tAc "
             "'select current_user' 2>&1")
    app = found["app"][0]["InstanceId"]
    client = ("command -v psql >/dev/null || DEBIAN_FRONTEND=noninteractive "
              "apt-get install -y -q postgresql-client >/dev/null")
    answered = shell(clients, app, client, query)
    assert answered["StandardOutputContent"].strip() == "argos", answered
    master = found["master"][0]["InstanceId"]
    refused = shell(clients, master, f"timeout 5 bash -c '</dev/tcp/{database}/5432' "
                                     "&& echo open || echo closed")
    assert refused["StandardOutputContent"].strip() == "closed"


def test_a_minion_of_another_environment_is_not_accepted(
        commissioned: Path, clients: Clients) -> None:
    found = instances(clients)
    stranger = Scope("argos", "staging")  # reads qa's master address: same project path
    user_data = minion_user_data(stranger, "app", "3008.4", "us-east-1").replace(
        stranger.parameter("master-address"), SCOPE.parameter("master-address"))
    profile = found["master"][0]["IamInstanceProfile"]["Arn"]  # to read the address
    instance_id = launch(clients, user_data=user_data, profile_arn=profile,
                         subnet_id=found["app"][0]["SubnetId"],  # in the VPC, as app is
                         group_ids=[g["GroupId"] for g in found["app"][0]["SecurityGroups"]])
    name = f"argos-staging-app-{instance_id}"

    def pending_key() -> bool:
        keys = json.loads(on_master(clients, "salt-key --out=json -L")["StandardOutputContent"])
        assert name not in keys["minions"], "a minion of staging was accepted by qa's master"
        return name in keys.get("minions_pre", []) + keys.get("minions_rejected", [])

    wait("the stranger's key to reach the master", pending_key, timeout=600)


# -- issue 11: the reference app through the load balancer, deploy, rollback, teardown --


def source(project: Path) -> Path:
    return project / ".argos-cloud" / "sources" / "reference-app"


def git(project: Path, *argv: str) -> str:
    return subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@localhost",
                           *argv], cwd=source(project), capture_output=True, text=True,
                          check=True).stdout.strip()


def app_url(project: Path) -> str:
    done = cli(project, "--output", "json", "qa", "status", timeout=120)
    assert done.returncode == 0, done.stderr
    url = json.loads(done.stdout)["url"]
    assert url and url.startswith("http://127.0.0.1:"), url
    return str(url).rstrip("/")


def get(url: str, timeout: float = 60) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as reply:
            body = reply.read()
            status = reply.status
    except urllib.error.HTTPError as e:
        body, status = e.read(), e.code
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode(errors="replace")


def serving(project: Path) -> str:
    status, page = get(app_url(project) + "/")
    assert status == 200, page
    return str(page["commit"])


def test_the_app_answers_through_the_load_balancer_at_the_first_commit(
        commissioned: Path, clients: Clients) -> None:
    first = git(commissioned, "rev-parse", "HEAD")
    url = app_url(commissioned)
    assert get(url + "/health")[0] == 200
    status, page = get(url + "/")
    assert status == 200 and page["commit"] == first, page
    assert isinstance(page["database"]["visits"], int) and page["database"]["visits"] >= 1
    app = instances(clients)["app"][0]["PrivateIpAddress"]
    assert page["host"] == "ip-" + app.replace(".", "-")
    status, task = get(url + "/celery", timeout=90)
    worker = instances(clients)["worker"][0]["PrivateIpAddress"]
    assert status == 200 and task["host"] == "ip-" + worker.replace(".", "-"), task
    done = cli(commissioned, "--output", "json", "qa", "history", timeout=120)
    entries = json.loads(done.stdout)["entries"]
    assert any(e["command"] == "deploy" and e["commit"] == first and
               e["result"] == "succeeded" for e in entries), entries


def under_load(project: Path, *argv: str) -> tuple[subprocess.CompletedProcess[str], Tally]:
    """The command while four clients hit the app's URL, and what they got (issue 19)."""
    with Load(app_url(project) + "/", clients=4) as load:
        done = cli(project, *argv)
    print(f"{' '.join(argv)} under load: {load.tally.summary()}")  # the figures, with -s
    return done, load.tally


def test_a_deploy_moves_the_app_and_a_failing_commit_is_brought_back(
        commissioned: Path) -> None:
    """With the group at one instance: a stand-in keeps it served while it is out."""
    git(commissioned, "commit", "-q", "--allow-empty", "-m", "second")
    second = git(commissioned, "rev-parse", "HEAD")
    done, tally = under_load(commissioned, "qa", "deploy", "--ref", "main")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "stand-in" in done.stdout, done.stdout[-3000:]
    assert serving(commissioned) == second
    assert tally.served > 100 and tally.failed == 0, tally.summary()
    requirements = source(commissioned) / "requirements.txt"
    requirements.write_text(requirements.read_text() + "argos-cloud-no-such-package==0.0.0\n")
    git(commissioned, "commit", "-q", "-am", "third: requirements that cannot install")
    done, tally = under_load(commissioned, "qa", "deploy", "--ref", "main")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert "batch 1/" in done.stdout + done.stderr
    assert serving(commissioned) == second  # that batch runs the last good commit again
    assert tally.served > 100 and tally.failed == 0, tally.summary()


def test_rollback_serves_the_commit_before_the_current_one(commissioned: Path) -> None:
    first = git(commissioned, "rev-parse", "HEAD~2")
    done, tally = under_load(commissioned, "qa", "rollback")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert serving(commissioned) == first
    assert tally.served > 100 and tally.failed == 0, tally.summary()


def test_an_instance_started_after_a_deploy_comes_up_at_the_deployed_commit(
        commissioned: Path, clients: Clients) -> None:
    deployed = clients.ssm.get_parameter(Name=SCOPE.parameter("deployed-ref"))[
        "Parameter"]["Value"]
    clients.autoscaling.set_desired_capacity(AutoScalingGroupName="argos-qa-app",
                                             DesiredCapacity=2)
    arn = clients.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["argos-qa-app"])["AutoScalingGroups"][0]["TargetGroupARNs"][0]

    def both_healthy() -> bool:
        states = [t["TargetHealth"]["State"] for t in clients.elbv2.describe_target_health(
            TargetGroupArn=arn)["TargetHealthDescriptions"]]
        return len(states) == 2 and all(s == "healthy" for s in states)

    wait("the new app instance to pass its health check", both_healthy, timeout=600)
    url = app_url(commissioned)
    answers = {}
    for _ in range(6):  # the balancer takes turns: both hosts answer
        status, page = get(url + "/")
        assert status == 200, page
        answers[page["host"]] = page["commit"]
    assert len(answers) == 2 and set(answers.values()) == {deployed}, answers


def test_decommission_keeps_the_data_volume_as_its_final_snapshot(
        commissioned: Path, clients: Clients, hosts_sandbox: Sandbox) -> None:
    done = cli(commissioned, "qa", "decommission")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    snapshots = clients.ec2.describe_snapshots(OwnerIds=["self"], Filters=[
        {"Name": "tag-key", "Values": ["argos-cloud:final-snapshot"]}])["Snapshots"]
    assert len(snapshots) == 1
    assert instances(clients) == {}
    wait("the machines to be gone", lambda: all(
        m["role"] == "" for m in hosts_sandbox.status().machines), timeout=120)
