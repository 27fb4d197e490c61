"""Commission and decommission through the CLI converge after dropped answers and kill -9.

No `unlock`, no manual step: at most a plain re-run of the same command.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from argos_cloud.aws.session import make_clients
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.main import main
from argos_cloud.discovery import discover
from argos_cloud.model.names import Scope
from tests.reliability.proxy import dropping_proxy

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
SCOPE = Scope("argos", "qa")


def run_cli(project: Path, endpoint: str, *argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    environ = {"ARGOS_CLOUD_PROVIDER": "aws", "AWS_ENDPOINT_URL": endpoint,
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    env = Environment(stdin=io.StringIO(""), stdout=out, stderr=err, cwd=project,
                      environ=environ)
    status = main(list(argv), env)
    return status, out.getvalue() + err.getvalue()


def counts(moto_server: str) -> Counter[str]:
    """address → how many exist, read from the emulator directly (not through the proxy)."""
    clients = make_clients(region="us-east-1", endpoint_url=moto_server, sandbox=True)
    return Counter(a.address for a in discover(clients, SCOPE).all() if a.role != "record")


def final_snapshots(moto_server: str) -> list[str]:
    ec2 = make_clients(region="us-east-1", endpoint_url=moto_server, sandbox=True).ec2
    return [s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"], Filters=[
        {"Name": "tag:argos-cloud:environment", "Values": ["qa"]}])["Snapshots"]]


def converge(project: Path, endpoint: str, *argv: str) -> str:
    """The command, then at most one plain re-run: it must end in success."""
    status, text = run_cli(project, endpoint, "--yes", *argv)
    if status != 0:
        status, again = run_cli(project, endpoint, "--yes", *argv)
        text += again
    assert status == 0, text
    assert "unlock" not in text.replace("--lock-wait", "")
    return text


def test_a_proxy_dropping_a_tenth_of_answers_still_converges_with_one_of_each(
        project: Path, moto_server: str) -> None:
    with dropping_proxy(moto_server, fraction=0.10, seed=13) as proxy:
        converge(project, proxy.url, "qa", "commission")  # type: ignore[attr-defined]
        made = counts(moto_server)
        assert made and set(made.values()) == {1}, made
        assert len(made) >= 25
        converge(project, proxy.url, "qa", "decommission")  # type: ignore[attr-defined]
    assert len(proxy.dropped) >= 10, proxy.dropped  # the faults really happened
    assert {a for a in counts(moto_server) if not a.startswith("image.")} == set()
    assert len(final_snapshots(moto_server)) == 1


def cli_killed_at(project: Path, moto_server: str, write: int, *argv: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env.update(ARGOS_CLOUD_PROVIDER="aws", AWS_ENDPOINT_URL=moto_server,
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-m", "tests.reliability.kill_at", str(write),
                           "--yes", *argv], cwd=project, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    return done.returncode


@pytest.mark.parametrize(("command", "write"), [
    ("commission", 1),    # the lock's own PutParameter
    ("commission", 17),   # among the security groups and the role
    ("commission", 45),   # among the instances and the groups
    ("decommission", 3),  # the final snapshot's neighbourhood
    ("decommission", 20),
])
def test_kill_9_at_a_write_then_a_plain_rerun_converges(project: Path, moto_server: str,
                                                        command: str, write: int) -> None:
    if command == "decommission":
        converge(project, moto_server, "qa", "commission")
    assert cli_killed_at(project, moto_server, write, "qa", command) == -signal.SIGKILL
    status, text = run_cli(project, moto_server, "--yes", "qa", command)  # plain re-run
    assert status == 0, text
    assert "took over the lock" in text and "no longer running" in text, text
    made = counts(moto_server)
    if command == "commission":
        assert made and set(made.values()) == {1}, made
        status, plan = run_cli(project, moto_server, "qa", "plan")
        assert status == 0 and "no changes" in plan.lower(), plan
    else:
        assert {a for a in made if not a.startswith("image.")} == set()
        assert len(final_snapshots(moto_server)) == 1
