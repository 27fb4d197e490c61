"""Last of the tier: `sandbox reset` ends the machines; after `kill -9` of the sandbox,
`sandbox stop` still removes everything it made."""

from __future__ import annotations

import json
import os
import signal

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.sandbox.server import Sandbox
from tests.hosts.conftest import base_image, launch, leftovers, wait

pytestmark = pytest.mark.hosts


def test_reset_ends_the_machines_and_registers_the_base_image_again(
        clients: Clients, hosts_sandbox: Sandbox) -> None:
    launch(clients)
    assert hosts_sandbox.status().machines
    hosts_sandbox.reset()
    wait("the machines to end", lambda: not hosts_sandbox.status().machines, timeout=120)
    assert base_image(clients).startswith("ami-")


def test_after_kill_9_of_the_sandbox_stop_leaves_nothing(
        clients: Clients, hosts_sandbox: Sandbox) -> None:
    launch(clients)
    state = hosts_sandbox.state_dir
    pid = int(json.loads((state / "sandbox.json").read_text())["pid"])
    os.kill(pid, signal.SIGKILL)
    assert leftovers(state) != []  # the machine, its links and rules outlive the process
    hosts_sandbox.stop()
    assert leftovers(state) == []
    hosts_sandbox.start(hosts=True)  # the session fixture stops it again at the end
