"""A plain moto server subprocess (not the sandbox) and the CLI run in-process against it."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from argos_cloud.cli.environment import Environment
from argos_cloud.cli.main import main
from argos_cloud.sandbox import plain

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """`moto_server` on loopback; default AMIs loaded, as a user's endpoint would be."""
    with plain.moto_server() as url:
        yield url


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
    plain.reset(moto_server)
    yield tmp_path


class RunCli(Protocol):
    """The `cli` fixture: argv in, what the CLI said and its exit status out."""

    def __call__(self, *argv: str, stdin: str = "") -> Ran: ...


@pytest.fixture
def cli(project: Path, moto_server: str) -> RunCli:
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
