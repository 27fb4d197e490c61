"""A plain moto server subprocess (not the sandbox) and the CLI run in-process against it."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from argos_cloud.cli.environment import Environment
from argos_cloud.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """`moto_server` on loopback; default AMIs loaded, as a user's endpoint would be."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTO_")}
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/config", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Ran:
    status: int
    stdout: str
    stderr: str

    def json(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def project(tmp_path: Path, moto_server: str) -> Iterator[Path]:
    """A user's folder with the shipped config; the server is reset around each test."""
    shutil.copy(ROOT / "argos-cloud.toml", tmp_path / "argos-cloud.toml")
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    urllib.request.urlopen(urllib.request.Request(moto_server + "/moto-api/reset",
                                                  method="POST"), timeout=30).read()
    yield tmp_path


@pytest.fixture
def cli(project: Path, moto_server: str):  # type: ignore[no-untyped-def]
    """Run the CLI as a user would: provider aws, AWS_ENDPOINT_URL at the moto server."""
    environ = {"ARGOS_CLOUD_PROVIDER": "aws", "AWS_ENDPOINT_URL": moto_server,
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

    def run(*argv: str, stdin: str = "") -> Ran:
        out, err = io.StringIO(), io.StringIO()
        env = Environment(stdin=io.StringIO(stdin), stdout=out, stderr=err, cwd=project,
                          environ=environ)
        status = main(list(argv), env)
        return Ran(status, out.getvalue(), err.getvalue())

    return run
