"""The sandbox's waits run on the Clock with backoff, and one helper says whether a process lives.

No root and no machine: real child processes of this test, a FakeClock, a fake SSM runner.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from argos_cloud.cli.views.base import log_to
from argos_cloud.clock import FakeClock, RealClock
from argos_cloud.processes import process_alive, process_start
from argos_cloud.sandbox.hosts.records import kill_recorded
from argos_cloud.sandbox.hosts.ssm import CommandRunner, Invocation, wait_done
from argos_cloud.sandbox.server import Sandbox
from argos_cloud.waiting import wait_until

SLEEPER = "import time; time.sleep(60)"


def sleeper(marker: str) -> subprocess.Popen[bytes]:
    """A child whose command line carries `marker` (waited for: exec takes a moment)."""
    child = subprocess.Popen([sys.executable, "-c", SLEEPER, marker])
    cmdline = Path(f"/proc/{child.pid}/cmdline")
    if Path("/proc/self").exists():
        assert wait_until(lambda: marker.encode() in cmdline.read_bytes(), clock=RealClock(),
                          timeout=30, initial=0.01, cap=0.1)
    return child


def test_wait_until_backs_off_and_says_whether_the_condition_came() -> None:
    clock = FakeClock()
    looks = iter([False, False, False, True])
    assert wait_until(lambda: next(looks), clock=clock, timeout=60, initial=1, factor=2, cap=3)
    assert clock.slept == [1, 2, 3]
    clock = FakeClock()
    assert not wait_until(lambda: False, clock=clock, timeout=10, initial=1, factor=2, cap=4)
    assert clock.slept == [1, 2, 4, 3]  # the last sleep is cut to the deadline
    assert clock.now() == 10


def test_a_process_is_alive_until_it_ends_and_a_zombie_counts_as_dead() -> None:
    child = sleeper("argos-test-alive")
    try:
        assert process_alive(child.pid)
        started = process_start(child.pid)
        assert process_alive(child.pid, started)
        if started is not None:  # with /proc a reused pid is told apart by its start
            assert not process_alive(child.pid, started + "0")
        child.kill()
        assert wait_until(lambda: not process_alive(child.pid), clock=RealClock(), timeout=10)
    finally:
        child.kill()
        child.wait()
    assert not process_alive(child.pid, reap=True)
    assert not process_alive(0) and not process_alive(-1)


def test_our_own_exited_child_is_reaped_when_asked() -> None:
    child = sleeper("argos-test-reap")
    child.kill()
    assert wait_until(lambda: not process_alive(child.pid, reap=True), clock=RealClock(),
                      timeout=10)
    with pytest.raises(ChildProcessError):  # reaped: nothing left to wait for
        os.waitpid(child.pid, 0)
    child.returncode = -9  # Popen must not wait for a pid it no longer owns


def test_kill_recorded_kills_only_a_process_carrying_its_marker() -> None:
    child = sleeper("argos-test-marker")
    try:
        kill_recorded(child.pid, "someone-else", clock=RealClock())
        assert process_alive(child.pid)  # a stranger is never signalled
        kill_recorded(child.pid, "argos-test-marker", wait=10, clock=RealClock())
        assert not process_alive(child.pid, reap=True)
        child.returncode = -9  # reaped above: Popen must not wait for it again
    finally:
        if child.returncode is None:
            child.kill()
            child.wait()


def test_wait_done_polls_on_the_clock_until_the_command_ends() -> None:
    runner = CommandRunner(locate=lambda instance_id: None)
    invocation = Invocation("c-1", "i-1", "", "AWS-RunShellScript", status="InProgress")
    runner.invocations[("c-1", "i-1")] = invocation

    class EndsAfterThreeSleeps(FakeClock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            if len(self.slept) == 3:
                invocation.status = "Success"

    clock = EndsAfterThreeSleeps()
    assert wait_done(runner, "c-1", "i-1", timeout=60, clock=clock) is invocation
    assert invocation.status == "Success" and len(clock.slept) == 3
    assert clock.slept == sorted(clock.slept)  # backoff, not a fixed poll


def test_wait_done_gives_the_invocation_as_it_stands_when_time_runs_out() -> None:
    runner = CommandRunner(locate=lambda instance_id: None)
    invocation = Invocation("c-2", "i-1", "", "AWS-RunShellScript", status="InProgress")
    runner.invocations[("c-2", "i-1")] = invocation
    clock = FakeClock()
    assert wait_done(runner, "c-2", "i-1", timeout=5, clock=clock) is invocation
    assert invocation.status == "InProgress" and clock.now() == 5


def test_the_sandbox_says_its_progress_through_the_callers_log_and_never_prints(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    said: list[str] = []
    Sandbox(tmp_path, log=said.append).log("building the base image")
    assert said == ["building the base image"]
    with caplog.at_level(logging.INFO):
        Sandbox(tmp_path).log("quietly")
    assert capsys.readouterr() == ("", "")
    assert "quietly" in caplog.text
    stream = io.StringIO()
    log_to(stream)("ready")
    assert stream.getvalue() == "argos-cloud: sandbox: ready\n"


def test_process_args_reads_a_command_line_and_none_once_the_pid_is_gone() -> None:
    from argos_cloud.processes import process_args

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)",
                              "argos-marker"])
    try:
        assert wait_until(lambda: bool(process_args(child.pid)), clock=RealClock(), timeout=10)
        assert process_args(child.pid) == [sys.executable, "-c",
                                           "import time; time.sleep(30)", "argos-marker"]
    finally:
        child.kill()
        child.wait()
    assert process_args(child.pid) is None
