"""A plain `moto.server` subprocess on loopback: what a user's own emulator endpoint is.

The sandbox (server.py) is the tool's managed, reusable server; this is the
throwaway one that the end-to-end tests and the benchmark point the CLI at.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from argos_cloud.clock import Clock, RealClock
from argos_cloud.sandbox.server import MODULE, loopback_open
from argos_cloud.waiting import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def moto_server(start_timeout: float = 60.0, clock: Clock | None = None) -> Iterator[str]:
    """Its URL while it runs (default AMIs and managed policies loaded); always stopped."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTO_")}
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    # moto's own app behind the sandbox's runner, which answers one request at a time
    # (moto's backends are not thread-safe; see runner.py); to the tool it is a plain
    # moto endpoint like any other.
    proc = subprocess.Popen([sys.executable, "-m", MODULE, "--port", str(port), "--marker",
                             "plain"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    clock = clock or RealClock()

    def answering() -> bool:
        try:
            with loopback_open(urllib.request.Request(url + "/moto-api/config"),
                               timeout=2) as reply:
                reply.read()
        except OSError:
            return False
        return True

    def exited(_: bool) -> str | None:
        code = proc.poll()
        return None if code is None else f"it exited with code {code}"

    try:
        wait_for(answering, bool, clock=clock, timeout=start_timeout,
                 what="the moto server to start", failed=exited,
                 initial=0.1, factor=1.5, cap=1.0)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def reset(url: str) -> None:
    """Drop all of the server's state."""
    with loopback_open(urllib.request.Request(url + "/moto-api/reset", method="POST"),
                       timeout=60) as reply:
        reply.read()
