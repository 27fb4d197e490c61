"""The sandbox as the CLI uses it: a real moto server subprocess on loopback.

One server is shared by the tests that only read or reset it; tests about
starting, replacing and stopping start their own. Every server started here
is stopped by a finalizer, and its pid is checked gone.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from argos_cloud.aws.session import make_clients
from argos_cloud.sandbox.faults import AnswerLost, CallCounter, Faults
from argos_cloud.sandbox.server import Sandbox, SandboxInfo

pytestmark = pytest.mark.e2e

SRC = Path(__file__).resolve().parents[2] / "src"


def gone(pid: int) -> bool:
    """The pid no longer names a live process (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True


def ec2(endpoint: str) -> Any:
    return boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def groups_named(client: Any, name: str) -> list[str]:
    """Cheaper than key pairs, whose creation makes moto generate an RSA key."""
    reply = client.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])
    return [g["GroupId"] for g in reply["SecurityGroups"]]


def write_record(state_dir: Path, *, pid: int, port: int, marker: str = "0" * 16) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "sandbox.json").write_text(json.dumps({
        "pid": pid, "port": port, "endpoint": f"http://127.0.0.1:{port}",
        "started_at": "2024-01-01T00:00:00Z", "marker": marker}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_everything(sandboxes: list[Sandbox], pids: set[int]) -> None:
    for sandbox in sandboxes:
        info = sandbox.status()
        if info.pid is not None:
            pids.add(info.pid)
        sandbox.stop()
    for pid in pids:  # a server a failed test left unrecorded: ours by construction
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)
            os.kill(pid, signal.SIGCONT)
    left = [pid for pid in pids if not gone(pid)]
    assert left == [], f"sandbox servers left behind: {left}"


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, SandboxInfo]]:
    sandbox = Sandbox(tmp_path_factory.mktemp("shared") / ".argos-cloud")
    info = sandbox.start()
    yield sandbox, info
    stop_everything([sandbox], {info.pid} if info.pid else set())


@pytest.fixture
def new_sandbox(tmp_path: Path) -> Iterator[Callable[..., Sandbox]]:
    """Sandboxes on fresh state dirs, all stopped afterwards; `.pids` records extra pids."""
    made: list[Sandbox] = []
    pids: set[int] = set()

    def make(name: str = ".argos-cloud", **kwargs: Any) -> Sandbox:
        sandbox = Sandbox(tmp_path / name, **kwargs)
        made.append(sandbox)
        return sandbox

    make.pids = pids  # type: ignore[attr-defined]
    yield make
    stop_everything(made, pids)


def test_start_serves_moto_on_loopback_with_a_default_vpc(
        shared: tuple[Sandbox, SandboxInfo]) -> None:
    sandbox, info = shared
    url = urlparse(info.endpoint or "")
    assert ipaddress.ip_address(url.hostname or "").is_loopback
    assert info.to_json() | {"running": True, "pid": info.pid} == info.to_json()
    assert info.to_json()["endpoint"] == f"http://127.0.0.1:{info.port}"
    vpcs = ec2(info.endpoint or "").describe_vpcs()["Vpcs"]
    assert [v["IsDefault"] for v in vpcs] == [True]
    assert (sandbox.state_dir / ".gitignore").read_text().strip() == "*"
    record = json.loads((sandbox.state_dir / "sandbox.json").read_text())
    assert (record["pid"], record["port"]) == (info.pid, info.port)


def test_starting_again_from_another_handle_reuses_the_server(
        shared: tuple[Sandbox, SandboxInfo]) -> None:
    sandbox, info = shared
    again = Sandbox(sandbox.state_dir)  # as a second CLI process would
    assert again.start() == info
    assert again.ensure() == info
    assert again.status() == info


def test_status_starts_nothing_and_creates_nothing(tmp_path: Path) -> None:
    state_dir = tmp_path / ".argos-cloud"
    info = Sandbox(state_dir).status()
    assert (info.running, info.pid, info.endpoint) == (False, None, None)
    assert not state_dir.exists()


def test_a_corrupt_record_reads_as_not_running(tmp_path: Path) -> None:
    state_dir = tmp_path / ".argos-cloud"
    state_dir.mkdir()
    (state_dir / "sandbox.json").write_text("{not json")
    assert Sandbox(state_dir).status().running is False


def test_reset_clears_state_and_keeps_the_server(shared: tuple[Sandbox, SandboxInfo]) -> None:
    sandbox, info = shared
    client = ec2(info.endpoint or "")
    client.create_security_group(GroupName="argos-reset-probe", Description="probe")
    assert sandbox.reset().pid == info.pid
    assert groups_named(client, "argos-reset-probe") == []


def test_a_record_with_a_dead_pid_is_replaced(
        shared: tuple[Sandbox, SandboxInfo], new_sandbox: Callable[..., Sandbox]) -> None:
    _, shared_info = shared
    dead = subprocess.Popen(["true"])
    dead.wait()
    sandbox = new_sandbox()
    # the recorded port even answers (it is the shared server): the pid decides
    write_record(sandbox.state_dir, pid=dead.pid, port=shared_info.port or 0)
    assert sandbox.status().running is False
    info = sandbox.start()
    assert info.pid not in (dead.pid, shared_info.pid) and info.port != shared_info.port
    assert sandbox.status() == info
    assert shared[0].status() == shared_info  # the other server was left alone


def test_a_live_foreign_pid_is_never_signalled(new_sandbox: Callable[..., Sandbox]) -> None:
    foreign = subprocess.Popen(["sleep", "30"])
    try:
        sandbox = new_sandbox()
        write_record(sandbox.state_dir, pid=foreign.pid, port=free_port())
        assert sandbox.status().running is False
        sandbox.stop()
        assert foreign.poll() is None
        assert not (sandbox.state_dir / "sandbox.json").exists()
        write_record(sandbox.state_dir, pid=foreign.pid, port=free_port())
        info = sandbox.start()
        assert info.running and info.pid != foreign.pid
        assert foreign.poll() is None
    finally:
        foreign.kill()
        foreign.wait()


def test_stop_ends_the_server_and_removes_the_record(
        new_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = new_sandbox()
    pid = sandbox.start().pid
    assert pid is not None
    stopped = sandbox.stop()
    assert gone(pid)
    assert stopped.running is False
    assert not (sandbox.state_dir / "sandbox.json").exists()
    assert sandbox.stop().running is False  # stopping twice is fine


def test_a_hung_server_of_ours_is_ended_and_replaced(
        new_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = new_sandbox(probe_timeout=0.3, stop_timeout=1.0)
    hung = sandbox.start().pid
    assert hung is not None
    new_sandbox.pids.add(hung)  # type: ignore[attr-defined]
    os.kill(hung, signal.SIGSTOP)
    assert sandbox.status().running is False
    info = sandbox.start()
    assert info.pid != hung
    assert gone(hung)


def test_concurrent_ensure_from_several_processes_starts_one_server(
        new_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = new_sandbox()
    script = textwrap.dedent(f"""
        from pathlib import Path
        from argos_cloud.sandbox.server import Sandbox
        print(Sandbox(Path({str(sandbox.state_dir)!r})).ensure().pid)
    """)
    dead_proxy = "http://127.0.0.1:9"  # the sandbox is loopback: a proxy must not matter
    env = {**os.environ, "PYTHONPATH": str(SRC), "http_proxy": dead_proxy,
           "HTTP_PROXY": dead_proxy, "no_proxy": "", "NO_PROXY": ""}
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    outputs = [p.communicate(timeout=60) for p in procs]
    pids = {int(out.strip()) for out, _ in outputs}
    new_sandbox.pids.update(pids)  # type: ignore[attr-defined]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outputs]
    assert len(pids) == 1
    assert sandbox.status().pid in pids  # it outlived the processes that started it


def test_injected_throttling_is_retried_and_counted(shared: tuple[Sandbox, SandboxInfo]) -> None:
    clients = make_clients(region="us-east-1", endpoint_url=shared[1].endpoint, sandbox=True)
    faults = Faults().add("DescribeVpcs").attach(clients)  # each retry backs off ~0.5 s
    calls, sends = CallCounter().attach(clients), CallCounter().attach(clients, "before-send")
    assert clients.ec2.describe_vpcs()["Vpcs"]
    assert (calls.calls["DescribeVpcs"], sends.calls["DescribeVpcs"]) == (1, 2)
    assert faults.pending("DescribeVpcs") == 0 and calls.mutating() == {}


def test_an_injected_error_means_aws_did_nothing_and_a_lost_answer_means_it_did(
        shared: tuple[Sandbox, SandboxInfo]) -> None:
    clients = make_clients(region="us-east-1", endpoint_url=shared[1].endpoint, sandbox=True)
    faults = Faults().add("ec2.CreateSecurityGroup", 400, "DependencyViolation")
    faults.attach(clients)
    calls = CallCounter().attach(clients)
    client = clients.session.client("ec2", region_name="us-east-1",
                                    endpoint_url=clients.endpoint_url,
                                    config=Config(retries={"total_max_attempts": 1}))
    probe = {"GroupName": "argos-fault-probe", "Description": "probe"}
    with pytest.raises(ClientError) as refused:
        client.create_security_group(**probe)
    assert refused.value.response["Error"]["Code"] == "DependencyViolation"
    assert groups_named(client, "argos-fault-probe") == []
    faults.lose("CreateSecurityGroup")
    with pytest.raises(AnswerLost):
        client.create_security_group(**probe)
    created = groups_named(client, "argos-fault-probe")
    assert len(created) == 1
    assert calls.mutating() == {"CreateSecurityGroup": 2}
    client.delete_security_group(GroupId=created[0])
