"""Remote commands on instances through SSM Run Command (no open SSH needed).

Every executor records what it sent, because on an emulator nothing runs:
moto answers "Success" with empty output, so the caller must treat the
result as emulated (`CommandResult.emulated`), neither proof nor failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from argos_cloud.aws.errors import tolerate
from argos_cloud.clock import Clock

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

DOCUMENT = "AWS-RunShellScript"
# The SSM agent runs the commands as one script with `sh`, which is dash on
# Debian and Ubuntu; ours are written for bash, so the script says so.
SHEBANG = "#!/bin/bash"
TERMINAL = frozenset({"Success", "Failed", "Cancelled", "TimedOut", "Undeliverable",
                      "Terminated", "InvalidPlatform", "AccessDenied", "DeliveryTimedOut",
                      "ExecutionTimedOut"})
# Tries of send_command while a new instance's SSM agent registers (about 8 minutes).
AGENT_ATTEMPTS = 20


@dataclass(frozen=True)
class InvocationResult:
    instance_id: str
    status: str
    stdout: str
    stderr: str
    exit_code: int | None

    @property
    def ok(self) -> bool:
        return self.status == "Success" and self.exit_code in (0, None)


@dataclass(frozen=True)
class CommandResult:
    command_id: str
    document: str
    commands: tuple[str, ...]
    targets: tuple[str, ...]
    invocations: tuple[InvocationResult, ...]
    emulated: bool

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.invocations) and len(self.invocations) == len(self.targets)

    @property
    def failed(self) -> tuple[InvocationResult, ...]:
        return tuple(i for i in self.invocations if not i.ok)

    def stdout_of(self, instance_id: str) -> str:
        return next((i.stdout for i in self.invocations if i.instance_id == instance_id), "")


@dataclass(frozen=True)
class SentCommand:
    """What was sent, for reports (deploy lists these when execution is emulated)."""

    command_id: str
    document: str
    targets: tuple[str, ...]
    commands: tuple[str, ...]
    comment: str


class RemoteExecutor(Protocol):
    sent: list[SentCommand]

    def run(self, instance_ids: list[str], commands: list[str], *, comment: str,
            timeout: float) -> CommandResult: ...


class SsmExecutor:
    """Sends `AWS-RunShellScript` and polls each instance's invocation on the clock."""

    def __init__(self, clients: Clients, clock: Clock) -> None:
        self.clients = clients
        self.clock = clock
        self.sent: list[SentCommand] = []

    def send_request(self, instance_ids: list[str], commands: list[str], *, comment: str,
                     timeout: float) -> dict[str, Any]:
        if not commands or not commands[0].startswith("#!"):
            commands = [SHEBANG, *commands]
        return {"DocumentName": DOCUMENT, "InstanceIds": list(instance_ids),
                "Parameters": {"commands": list(commands),
                               "executionTimeout": [str(max(1, int(timeout)))]},
                "Comment": comment[:100]}

    def run(self, instance_ids: list[str], commands: list[str], *, comment: str,
            timeout: float) -> CommandResult:
        from argos_cloud.aws.retry import retry_on

        request = self.send_request(instance_ids, commands, comment=comment, timeout=timeout)
        # A fresh instance's agent registers a minute or two after "running".
        reply = retry_on({"InvalidInstanceId"}, lambda: self.clients.ssm.send_command(**request),
                         clock=self.clock, attempts=AGENT_ATTEMPTS, what="ssm send_command",
                         initial=5.0, factor=1.5, cap=30.0)
        command_id = str(reply["Command"]["CommandId"])
        self.sent.append(SentCommand(command_id, DOCUMENT, tuple(instance_ids),
                                     tuple(commands), comment))
        invocations = tuple(self._wait(command_id, i, timeout) for i in instance_ids)
        return CommandResult(command_id, DOCUMENT, tuple(commands), tuple(instance_ids),
                             invocations, self.clients.emulated)

    def _wait(self, command_id: str, instance_id: str, timeout: float) -> InvocationResult:
        from argos_cloud.waiting import wait_for

        def describe() -> dict[str, Any]:
            with tolerate("InvocationDoesNotExist"):  # not registered yet
                return dict(self.clients.ssm.get_command_invocation(
                    CommandId=command_id, InstanceId=instance_id))
            return {"Status": "Pending"}

        raw = wait_for(describe, lambda r: r.get("Status") in TERMINAL, clock=self.clock,
                       timeout=timeout + 120.0, what=f"command {command_id} on {instance_id}")
        code = raw.get("ResponseCode")
        return InvocationResult(instance_id, str(raw["Status"]),
                                str(raw.get("StandardOutputContent", "")),
                                str(raw.get("StandardErrorContent", "")),
                                int(code) if code is not None and int(code) >= 0 else None)


Responder = Callable[[str, list[str]], "str | InvocationResult"]


@dataclass
class FakeExecutor:
    """For tests: records every run and answers from `respond(instance_id, commands)`.

    `respond` returns the stdout (status Success, exit 0) or a full InvocationResult.
    """

    respond: Responder | None = None
    emulated: bool = False
    sent: list[SentCommand] = field(default_factory=list)

    def run(self, instance_ids: list[str], commands: list[str], *, comment: str,
            timeout: float) -> CommandResult:
        command_id = f"fake-{len(self.sent) + 1}"
        self.sent.append(SentCommand(command_id, DOCUMENT, tuple(instance_ids),
                                     tuple(commands), comment))
        invocations = []
        for instance_id in instance_ids:
            answer = self.respond(instance_id, list(commands)) if self.respond else ""
            if isinstance(answer, InvocationResult):
                invocations.append(answer)
            else:
                invocations.append(InvocationResult(instance_id, "Success", answer, "", 0))
        return CommandResult(command_id, DOCUMENT, tuple(commands), tuple(instance_ids),
                             tuple(invocations), self.emulated)

