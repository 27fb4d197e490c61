"""`exec --role ROLE [--instance ID|--all] -- COMMAND...`: a one-off command on the hosts.

Through SSM Run Command (never SSH), in the app's directory, as the app's user,
with the app's environment (provision/app_exec.py builds the shell). By default
one healthy instance, so a data fix never runs on every host by surprise.
Each run is an entry in the environment's history: who, the command, the
instances, and each one's exit code; never the output, which may hold anything.
It takes no lock: it changes no resource, and a one-off must be possible while a
deploy runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from argos_cloud.engine.journal import Result
from argos_cloud.errors import BadInput
from argos_cloud.workflows.session import Session
from argos_cloud.workflows.targets import Target, choose, instances

if TYPE_CHECKING:
    from argos_cloud.provision.remote import InvocationResult, RemoteExecutor

ROLES = ("app", "worker", "database", "broker", "master")
MAX_COMMAND_IN_HISTORY = 300


@dataclass(frozen=True)
class Ran:
    """One instance's answer."""

    instance_id: str
    role: str
    status: str  # SSM's: Success, Failed, TimedOut, …
    exit_code: int | None
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.status == "Success" and self.exit_code in (0, None)

    def to_json(self) -> dict[str, Any]:
        return {"instance": self.instance_id, "role": self.role, "status": self.status,
                "exit_code": self.exit_code, "ok": self.ok, "stdout": self.stdout,
                "stderr": self.stderr}


@dataclass
class ExecResult:
    environment: str
    command: tuple[str, ...]
    ran: list[Ran] = field(default_factory=list)
    command_id: str | None = None
    emulated: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.ran) and all(r.ok for r in self.ran)

    def to_json(self) -> dict[str, Any]:
        return {"environment": self.environment, "command": list(self.command),
                "ok": self.ok, "emulated": self.emulated, "command_id": self.command_id,
                "instances": [r.to_json() for r in self.ran]}


def history_detail(command: tuple[str, ...], ran: list[Ran]) -> str:
    """Pure: what the history keeps: the command (shortened) and where it ran, with what
    exit; never its output."""
    from argos_cloud.provision.app_exec import command_line

    text = command_line(list(command))
    if len(text) > MAX_COMMAND_IN_HISTORY:
        text = text[:MAX_COMMAND_IN_HISTORY - 1] + "…"
    where = ", ".join(f"{r.instance_id} ({r.role}) "
                      + (f"exit {r.exit_code}" if r.exit_code is not None else r.status)
                      for r in ran)
    return f"{text} on {where}"


def ran_of(target: Target, invocation: InvocationResult | None) -> Ran:
    if invocation is None:
        return Ran(target.id, target.role, "NoAnswer", None, "", "")
    return Ran(target.id, target.role, invocation.status, invocation.exit_code,
               invocation.stdout, invocation.stderr)


def run_exec(session: Session, command: list[str], *, role: str = "app",
             instance_id: str | None = None, every: bool = False, timeout: float = 600.0,
             executor: RemoteExecutor | None = None) -> ExecResult:
    """Run `command` on the chosen instances; the result says each one's exit code."""
    from argos_cloud.engine.lock import who_am_i
    from argos_cloud.provision.app_exec import exec_script

    if not command:
        raise BadInput("exec: give the command after --, e.g. exec -- python -c 'print(1)'")
    if role not in ROLES:
        raise BadInput(f"--role: '{role}' is not one of {', '.join(ROLES)}")
    if instance_id is not None and every:
        raise BadInput("exec: --instance and --all exclude each other")
    scope = session.scope
    where = f"{scope.project}/{scope.environment}"
    found = instances(session, ROLES if instance_id else (role,))
    chosen = choose(found, role=None if instance_id else role, instance_id=instance_id,
                    every=every, where=where)
    if executor is None:
        from argos_cloud.provision.remote import SsmExecutor

        executor = SsmExecutor(session.clients, session.clock)
    result = ExecResult(environment=scope.environment or "", command=tuple(command),
                        emulated=session.emulated)
    journal = session.journal()
    entry = journal.start("exec", who=who_am_i())
    outcome = Result.INTERRUPTED
    try:
        for target in chosen:
            session.on_event(target.id, f"running on {target.id} ({target.role})")
        sent = executor.run([t.id for t in chosen], exec_script(command), timeout=timeout,
                            comment=f"argos-cloud exec {scope.environment}")
        result.command_id = sent.command_id
        result.emulated = result.emulated or sent.emulated
        answers = {i.instance_id: i for i in sent.invocations}
        result.ran = [ran_of(t, answers.get(t.id)) for t in chosen]
        outcome = Result.SUCCEEDED if result.ok else Result.FAILED
    except Exception:
        outcome = Result.FAILED
        raise
    finally:
        ran = result.ran or [Ran(t.id, t.role, "NotRun", None, "", "") for t in chosen]
        journal.finish(entry, outcome.value, detail=history_detail(tuple(command), ran),
                       failed_step=None if outcome is Result.SUCCEEDED else "exec")
    return result
