"""`argos-cloud validate` as a user runs it, on the packaged tree and on an `init`ed one."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from argos_cloud.cli.environment import Environment
from argos_cloud.cli.main import main

pytestmark = pytest.mark.salt


def run_cli(cwd: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), Environment(stdin=io.StringIO(""), stdout=out, stderr=err,
                                          cwd=cwd, environ={}))
    return status, out.getvalue(), err.getvalue()


def test_validate_reports_all_six_roles_of_the_packaged_tree(tmp_path: Path) -> None:
    status, out, _ = run_cli(tmp_path, "--output", "json", "validate")
    assert status == 0, out
    body = json.loads(out)
    assert body["ok"] and {r["role"] for r in body["roles"]} == {
        "image", "master", "app", "worker", "database", "broker"}
    assert all(r["states"] > 0 for r in body["roles"])


def test_after_init_a_broken_sls_fails_validate_naming_the_file(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "init")[0] == 0
    status, out, _ = run_cli(tmp_path, "validate")
    assert status == 0 and "all roles valid" in out
    broken = tmp_path / "salt" / "states" / "broker" / "init.sls"
    broken.write_text(broken.read_text() + "\nnot: [valid\n")
    status, out, _ = run_cli(tmp_path, "validate")
    assert status == 1
    assert "broker/init.sls" in out and "FAIL broker" in out
