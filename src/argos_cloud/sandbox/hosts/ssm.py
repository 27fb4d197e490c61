"""SSM Run Command, executed for real inside the machines.

As the SSM agent does for AWS-RunShellScript, the commands are joined into
`_script.sh` under /var/lib/amazon/ssm and run with `sh -c <script>`, as root,
with a service's bare environment: on Debian `sh` is dash, so a script that
needs bash must say so, as on EC2. Status goes Pending → InProgress →
Success | Failed | TimedOut; output is cut at 24,000 characters as AWS does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argos_cloud.clock import Clock, RealClock
from argos_cloud.waiting import wait_until

OUTPUT_LIMIT = 24000
SERVICE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "LANG": "C.UTF-8"}


@dataclass
class Invocation:
    command_id: str
    instance_id: str
    comment: str
    document: str
    status: str = "Pending"
    code: int = -1
    stdout: str = ""
    stderr: str = ""
    started: datetime | None = None
    ended: datetime | None = None

    def answer(self) -> dict[str, Any]:
        """GetCommandInvocation's reply."""
        detail = {"Pending": "Pending", "InProgress": "InProgress", "Success": "Success",
                  "Failed": "Failed", "TimedOut": "ExecutionTimedOut"}.get(self.status,
                                                                          self.status)
        stamp = (self.started or datetime.now(UTC)).isoformat()
        return {"CommandId": self.command_id, "InstanceId": self.instance_id,
                "Comment": self.comment, "DocumentName": self.document,
                "DocumentVersion": "$DEFAULT", "PluginName": "aws:runShellScript",
                "ResponseCode": self.code, "ExecutionStartDateTime": stamp,
                "ExecutionElapsedTime": _elapsed(self.started, self.ended),
                "ExecutionEndDateTime": self.ended.isoformat() if self.ended else "",
                "Status": self.status, "StatusDetails": detail,
                "StandardOutputContent": self.stdout[:OUTPUT_LIMIT],
                "StandardOutputUrl": "", "StandardErrorContent": self.stderr[:OUTPUT_LIMIT],
                "StandardErrorUrl": "", "CloudWatchOutputConfig": {
                    "CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False}}

    def listed(self, details: bool) -> dict[str, Any]:
        """ListCommandInvocations' entry."""
        entry: dict[str, Any] = {
            "CommandId": self.command_id, "InstanceId": self.instance_id,
            "Comment": self.comment, "DocumentName": self.document,
            "DocumentVersion": "$DEFAULT", "Status": self.status,
            "StatusDetails": self.answer()["StatusDetails"],
            "RequestedDateTime": (self.started or datetime.now(UTC)).timestamp()}
        if details:
            entry["CommandPlugins"] = [{
                "Name": "aws:runShellScript", "Status": self.status,
                "StatusDetails": entry["StatusDetails"], "ResponseCode": self.code,
                "Output": self.stdout[:2500]}]
        return entry


def _elapsed(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return "PT0S"
    seconds = ((end or datetime.now(UTC)) - start).total_seconds()
    return f"PT{seconds:.3f}S"


# Where the machine is: its root on this computer and the argv prefix that enters it.
Locate = Callable[[str], "tuple[Path, list[str]] | None"]


@dataclass
class CommandRunner:
    """Runs each command on each named machine in a thread; answers the status calls."""

    locate: Locate
    invocations: dict[tuple[str, str], Invocation] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, command_id: str, instance_ids: list[str], commands: list[str], *,
              timeout: float, comment: str, document: str) -> None:
        for instance_id in instance_ids:
            invocation = Invocation(command_id, instance_id, comment, document)
            with self.lock:
                self.invocations[(command_id, instance_id)] = invocation
            threading.Thread(target=self._run, args=(invocation, commands, timeout),
                             name=f"ssm-{command_id[:8]}-{instance_id}", daemon=True).start()

    def get(self, command_id: str, instance_id: str) -> Invocation | None:
        with self.lock:
            return self.invocations.get((command_id, instance_id))

    def of(self, command_id: str | None, instance_id: str | None) -> list[Invocation]:
        with self.lock:
            return [i for (c, n), i in self.invocations.items()
                    if (command_id is None or c == command_id)
                    and (instance_id is None or n == instance_id)]

    def knows(self, command_id: str) -> bool:
        with self.lock:
            return any(c == command_id for c, _ in self.invocations)

    def _run(self, invocation: Invocation, commands: list[str], timeout: float) -> None:
        where = self.locate(invocation.instance_id)
        invocation.started = datetime.now(UTC)
        if where is None:
            invocation.status, invocation.ended = "Undeliverable", datetime.now(UTC)
            return
        rootfs, enter = where
        relative = (f"var/lib/amazon/ssm/{invocation.instance_id}/document/orchestration/"
                    f"{invocation.command_id}/awsrunShellScript/0.awsrunShellScript")
        folder = rootfs / relative
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "_script.sh").write_text("\n".join(commands) + "\n")
        (folder / "_script.sh").chmod(0o700)
        invocation.status = "InProgress"
        argv = [*enter, "env", "-i", *(f"{k}={v}" for k, v in SERVICE_ENV.items()),
                "sh", "-c", f"cd / && /{relative}/_script.sh"]
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        timed_out = False
        try:
            out, err = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            out, err = child.communicate()
        invocation.stdout = out.decode(errors="replace")
        invocation.stderr = err.decode(errors="replace")
        invocation.code = child.returncode
        if timed_out:
            invocation.status, invocation.code = "TimedOut", -1
        else:
            invocation.status = "Success" if child.returncode == 0 else "Failed"
        invocation.ended = datetime.now(UTC)


def wait_done(runner: CommandRunner, command_id: str, instance_id: str,
              timeout: float = 60.0, clock: Clock | None = None) -> Invocation | None:
    """For tests: the invocation once it ended (as it stands when `timeout` ran out)."""
    def ended() -> bool:
        found = runner.get(command_id, instance_id)
        return found is not None and found.status not in ("Pending", "InProgress")

    wait_until(ended, clock=clock or RealClock(), timeout=timeout, initial=0.1, cap=1.0)
    return runner.get(command_id, instance_id)
