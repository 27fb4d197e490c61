"""The hosts tier: a hosts sandbox (real machines) shared by the tier's tests.

Skipped, with the reason, where it cannot run (not root, not Linux, a tool
missing); CI runs as root and `make test` installs the tools first. Nothing
here runs Salt or any state on this computer: only inside the machines.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from argos_cloud.aws.session import Clients, make_clients
from argos_cloud.sandbox.hosts.system import missing
from argos_cloud.sandbox.server import Sandbox

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    problem = missing()
    for item in items:
        if "tests/hosts/" in str(item.fspath):
            item.add_marker(pytest.mark.hosts)
            if problem is not None:
                item.add_marker(pytest.mark.skip(reason=problem.message()))


@pytest.fixture(scope="session")
def hosts_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's folder: the shipped config with `[sandbox] hosts = true`, the templates and
    the reference app; its `.argos-cloud/` is the hosts sandbox's state."""
    project = tmp_path_factory.mktemp("hosts-project")
    config = (ROOT / "argos-cloud.toml").read_text()
    (project / "argos-cloud.toml").write_text(config + "\n[sandbox]\nhosts = true\n")
    shutil.copytree(ROOT / "deploy", project / "deploy")
    if (ROOT / "reference-app").is_dir():
        shutil.copytree(ROOT / "reference-app", project / "reference-app",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return project


@pytest.fixture(scope="session")
def hosts_sandbox(hosts_project: Path) -> Iterator[Sandbox]:
    """One hosts sandbox for the tier; stopped at the end, and checked to leave nothing."""
    state = hosts_project / ".argos-cloud"
    box = Sandbox(state)
    box.start(hosts=True)
    try:
        yield box
    finally:
        box.stop()
        assert leftovers(state) == []


def leftovers(state: Path) -> list[str]:
    """What of the hosts sandbox still exists on this computer."""
    found = []
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    found += [line for line in ps.splitlines()
              if str(state) in line or "argos-sandbox-acng" in line]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    found += [line.split(":")[1].strip() for line in links.splitlines()
              if ": ahv" in line or "argos-hosts0" in line]
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [n for n in netns.split() if n.startswith("argos-i-")]
    rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout
    found += [r for r in rules.splitlines() if "ARGOS-HOSTS" in r]
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    found += [line for line in loops.splitlines() if str(state) in line]
    mounts = Path("/proc/mounts").read_text()
    found += [line for line in mounts.splitlines() if str(state) in line]
    return found


@pytest.fixture
def clients(hosts_sandbox: Sandbox) -> Clients:
    info = hosts_sandbox.status()
    assert info.running and info.hosts
    return make_clients(region="us-east-1", endpoint_url=info.endpoint, sandbox=True)


def wait(what: str, probe: Callable[[], Any], timeout: float = 180.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def base_image(clients: Clients) -> str:
    images = clients.ec2.describe_images(Filters=[
        {"Name": "tag-key", "Values": ["argos-cloud:sandbox-base"]}])["Images"]
    assert len(images) == 1
    return str(images[0]["ImageId"])


def launch(clients: Clients, *, user_data: str = "", group_ids: list[str] | None = None,
           image_id: str | None = None, instance_type: str = "t3.micro",
           profile_arn: str | None = None, subnet_id: str | None = None) -> str:
    request: dict[str, Any] = {
        "ImageId": image_id or base_image(clients), "InstanceType": instance_type,
        "MinCount": 1, "MaxCount": 1, "MetadataOptions": {"HttpTokens": "required"}}
    if user_data:
        request["UserData"] = user_data
    if group_ids:
        request["SecurityGroupIds"] = group_ids
    if profile_arn:
        request["IamInstanceProfile"] = {"Arn": profile_arn}
    if subnet_id:
        request["SubnetId"] = subnet_id
    instance_id = str(clients.ec2.run_instances(**request)["Instances"][0]["InstanceId"])
    wait(f"{instance_id} running", lambda: state(clients, instance_id) == "running")
    return instance_id


def state(clients: Clients, instance_id: str) -> str:
    reservations = clients.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return str(reservations[0]["Instances"][0]["State"]["Name"])


def address(clients: Clients, instance_id: str) -> str:
    reservations = clients.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return str(reservations[0]["Instances"][0]["PrivateIpAddress"])


def shell(clients: Clients, instance_id: str, *commands: str,
          timeout: int = 120) -> dict[str, Any]:
    """Run commands over SSM (retrying until the agent is there); the invocation at its end."""
    def send() -> str | None:
        try:
            reply = clients.ssm.send_command(
                InstanceIds=[instance_id], DocumentName="AWS-RunShellScript",
                Parameters={"commands": list(commands), "executionTimeout": [str(timeout)]})
        except clients.ssm.exceptions.InvalidInstanceId:
            return None
        return str(reply["Command"]["CommandId"])

    command_id = wait("the SSM agent", send)

    def done() -> dict[str, Any] | None:
        found = clients.ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        return None if found["Status"] in ("Pending", "InProgress") else dict(found)

    return dict(wait(f"command {command_id}", done, timeout=timeout + 60))
