"""Hosts sandbox timings (issue 11's budget): real machines, printed, never asserted.

Runs only as root on Linux with the hosts tools (else it says why and returns
None). In a scratch folder with the shipped config and the reference app:
sandbox start (base image cached), commission (image bake included, then
cached), a deploy of one new commit to one app and one worker, a rollback, a
decommission and the sandbox's stop.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _cli(folder: Path, *argv: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "argos_cloud", *argv], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"argos-cloud {' '.join(argv)} exited {done.returncode}: "
                           f"{done.stderr[-500:]}")
    return time.perf_counter() - started


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
            out["deploy_one_commit_s"] = _cli(folder, "--yes", "qa", "deploy", "--ref", "main")
            out["rollback_s"] = _cli(folder, "--yes", "qa", "rollback")
            out["decommission_s"] = _cli(folder, "--yes", "qa", "decommission")
        finally:
            out["sandbox_stop_s"] = _cli(folder, "sandbox", "stop")
        return out
