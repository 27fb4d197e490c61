"""Hosts sandbox timings (issue 11's budget): real machines, printed, never asserted.

Runs only as root on Linux with the hosts tools (else it says why and returns
None). In a scratch folder with the shipped config and the reference app:
sandbox start (base image cached), commission (image bake included, then
cached), requests/s through the load balancer and to the app instance directly,
a deploy of one new commit to one app and one worker and a rollback, each
while four clients hit the app's URL (failed requests counted), the app
machine terminated and `commission` run (requests failed meanwhile counted),
a decommission and the sandbox's stop.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argos_cloud.sandbox.load import Load

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 4  # the same clients for every figure
THROUGHPUT_SECONDS = 15.0


def _cli(folder: Path, *argv: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "argos_cloud", *argv], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"argos-cloud {' '.join(argv)} exited {done.returncode}: "
                           f"{done.stderr[-500:]}")
    return time.perf_counter() - started


def _status(folder: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    done = subprocess.run([sys.executable, "-m", "argos_cloud", "--output", "json", "qa",
                           "status"], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    return dict(json.loads(done.stdout)) if done.stdout.strip() else {}


def _load(folder: Path) -> Load:
    return Load(str(_status(folder)["url"]).rstrip("/") + "/", clients=CLIENTS)


def _clients(folder: Path) -> Clients:
    from argos_cloud.aws.session import make_clients
    from argos_cloud.sandbox.server import Sandbox

    info = Sandbox(folder / ".argos-cloud").status()
    return make_clients(region="us-east-1", endpoint_url=info.endpoint, sandbox=True)


def _app_instance(folder: Path) -> tuple[str, str]:
    """The app group's first instance: its id and private address."""
    clients = _clients(folder)
    group = clients.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["argos-qa-app"])["AutoScalingGroups"][0]
    iid = sorted(i["InstanceId"] for i in group["Instances"])[0]
    found = clients.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    return iid, str(found["PrivateIpAddress"])


def _throughput(folder: Path) -> dict[str, Any]:
    """Requests/s through the load balancer and to the one app instance directly, same
    clients, one run (issue 19's bar: through the balancer at least 90% of direct)."""
    _, address = _app_instance(folder)
    direct = Load(f"http://{address}/", clients=CLIENTS)
    via = _load(folder)
    figures: dict[str, Any] = {}
    for name, load in (("direct", direct), ("balancer", via)):
        with load:
            time.sleep(THROUGHPUT_SECONDS)
        figures[f"{name}_rps"] = round(load.tally.rate, 1)
        figures[f"{name}_failed"] = load.tally.failed
    figures["balancer_share_of_direct"] = round(
        figures["balancer_rps"] / figures["direct_rps"], 3) if figures["direct_rps"] else None
    return figures


def _machine_loss(folder: Path) -> dict[str, Any]:
    """A machine dies: the app instance is terminated, then `commission` makes it whole.
    With one app instance requests fail until the replacement is healthy: counted."""
    clients = _clients(folder)
    iid, _ = _app_instance(folder)
    out: dict[str, Any] = {}
    with _load(folder) as load:
        clients.ec2.terminate_instances(InstanceIds=[iid])
        try:
            out["commission_after_loss_s"] = _cli(folder, "--yes", "qa", "commission")
        except RuntimeError as e:  # a figure too: what a user would see
            out["commission_after_loss_error"] = str(e)[-300:]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and _app_instance(folder)[0] == iid:
            time.sleep(5)
        out["app_replaced"] = _app_instance(folder)[0] != iid
    out["loss_under_load"] = load.tally.summary()
    out["loss_failed_requests"] = load.tally.failed
    return out


def hosts_lifecycle() -> dict[str, Any] | None:
    from argos_cloud.sandbox.hosts.system import missing

    problem = missing()
    if problem is not None:
        print(f"hosts bench skipped: {problem.message()}")
        return None
    with tempfile.TemporaryDirectory(prefix="argos-bench-hosts-") as tmp:
        folder = Path(tmp)
        (folder / "argos-cloud.toml").write_text((ROOT / "argos-cloud.toml").read_text())
        shutil.copytree(ROOT / "deploy", folder / "deploy")
        shutil.copytree(ROOT / "reference-app", folder / "reference-app",
                        ignore=shutil.ignore_patterns("__pycache__"))
        out: dict[str, Any] = {}
        try:
            out["sandbox_start_s"] = _cli(folder, "sandbox", "start", "--hosts")
            out["commission_s"] = _cli(folder, "--yes", "qa", "commission")
            source = folder / ".argos-cloud" / "sources" / "reference-app"
            subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=b@localhost",
                            "commit", "-q", "--allow-empty", "-m", "bench"], cwd=source,
                           check=True)
            out.update(_throughput(folder))
            with _load(folder) as load:
                out["deploy_one_commit_s"] = _cli(folder, "--yes", "qa", "deploy", "--ref",
                                                  "main")
            out["deploy_under_load"] = load.tally.summary()
            out["deploy_failed_requests"] = load.tally.failed
            with _load(folder) as load:
                out["rollback_s"] = _cli(folder, "--yes", "qa", "rollback")
            out["rollback_under_load"] = load.tally.summary()
            out["rollback_failed_requests"] = load.tally.failed
            out.update(_machine_loss(folder))
            out["decommission_s"] = _cli(folder, "--yes", "qa", "decommission")
        finally:
            out["sandbox_stop_s"] = _cli(folder, "sandbox", "stop")
        return out
