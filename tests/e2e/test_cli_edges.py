"""The CLI's edges as a user meets them: the sandbox commands, a held lock, JSON purity."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
from pathlib import Path

import boto3
import pytest

from argos_cloud.cli.environment import Environment
from argos_cloud.cli.main import main
from argos_cloud.engine.lock import EnvironmentLock
from argos_cloud.model.names import Scope

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def run(cwd: Path, *argv: str, environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), Environment(stdin=io.StringIO(""), stdout=out, stderr=err,
                                          cwd=cwd, environ=environ or {}))
    return status, out.getvalue(), err.getvalue()


def test_sandbox_commands_print_json_and_stop_their_own_server(tmp_path: Path) -> None:
    shutil.copy(ROOT / "argos-cloud.toml", tmp_path / "argos-cloud.toml")
    pid = None
    try:
        status, out, _ = run(tmp_path, "sandbox", "start", "--output", "json")
        assert status == 0
        started = json.loads(out)  # stdout is the JSON document alone
        pid = started["pid"]
        assert started["running"] is True
        assert started["endpoint"].startswith("http://127.0.0.1:")
        status, out, _ = run(tmp_path, "--output", "json", "sandbox", "status")
        assert json.loads(out)["pid"] == pid
        status, out, _ = run(tmp_path, "sandbox", "stop")
        assert status == 0 and "stopped" in out
        status, out, _ = run(tmp_path, "--output", "json", "sandbox", "status")
        assert json.loads(out)["running"] is False
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        pid = None
    finally:
        if pid is not None:
            os.kill(pid, signal.SIGKILL)


def test_a_held_lock_refuses_commission_naming_the_holder(cli, moto_server: str) -> None:  # type: ignore[no-untyped-def]
    from argos_cloud.aws.store import ParameterStore

    ssm = boto3.client("ssm", endpoint_url=moto_server, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    lock = EnvironmentLock(ParameterStore(ssm), Scope("argos", "qa"), who="deploy@build-01",
                           operation="deploy")
    lock.acquire()
    ran = cli("--yes", "qa", "commission")
    assert ran.status == 3
    assert "deploy@build-01" in ran.stderr and "(deploy)" in ran.stderr
    assert cli("--output", "json", "qa", "status").json()["lock"]["who"] == "deploy@build-01"
    ran = cli("--yes", "qa", "commission", "--break-lock")  # its holder (this pid) is alive
    assert ran.status == 3 and "deploy@build-01" in ran.stderr and "--force" in ran.stderr
    assert cli("qa", "commission", "--break-lock", stdin="n\n").status == 3  # asked: no
    ran = cli("--yes", "qa", "commission", "--break-lock", "--force")
    assert ran.status == 0, ran.stderr
    assert "broke the lock held by deploy@build-01" in ran.stdout


def test_json_output_is_one_document_even_with_progress(cli) -> None:  # type: ignore[no-untyped-def]
    ran = cli("--yes", "--output", "json", "qa", "commission")
    assert ran.status == 0
    body = json.loads(ran.stdout)
    assert body["ok"] is True
    assert "ok  instance.master" in ran.stderr  # progress went to stderr


def test_lock_wait_takes_the_lock_once_a_live_holder_releases(cli, moto_server: str) -> None:  # type: ignore[no-untyped-def]
    import threading

    from argos_cloud.aws.store import ParameterStore

    ssm = boto3.client("ssm", endpoint_url=moto_server, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    holder = EnvironmentLock(ParameterStore(ssm), Scope("argos", "qa"),
                             who="deploy@build-01", operation="deploy")
    holder.acquire()  # this process: alive, so never stale
    assert cli("--yes", "qa", "commission").status == 3
    releaser = threading.Timer(0.5, holder.release)
    releaser.start()
    try:
        ran = cli("--yes", "qa", "commission", "--lock-wait", "60")
    finally:
        releaser.join()
    assert ran.status == 0, ran.stderr


def test_unlock_of_a_live_holder_needs_force_under_yes(cli, moto_server: str) -> None:  # type: ignore[no-untyped-def]
    from argos_cloud.aws.store import ParameterStore

    ssm = boto3.client("ssm", endpoint_url=moto_server, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    EnvironmentLock(ParameterStore(ssm), Scope("argos", "qa"), who="deploy@build-01",
                    operation="deploy").acquire()
    ran = cli("--yes", "qa", "unlock")
    assert ran.status == 3 and "still alive" in ran.stderr and "deploy@build-01" in ran.stderr
    ran = cli("--yes", "qa", "unlock", "--force")
    assert ran.status == 0 and "broke the lock held by deploy@build-01" in ran.stdout
