"""Is the master ready to be sent a deploy? A bounded wait, before the first batch.

A master that was just launched (commission's first deploy, or a replaced master
and then `deploy`) installs Salt from its user data for minutes after EC2 says
"running": a highstate sent before then fails with `/opt/salt/bin/python: No
such file or directory`, or, half-way, `No module named 'boto3'`. So deploy and
rollback first ask the master, through one short SSM command, whether Salt is
installed, salt-master is running and answering, and the state tree is in place;
they ask again with backoff until it is, or until `MASTER_READY_TIMEOUT`. A user
data that failed (cloud-init says `error`) stops the wait at once, with the end of
its log. On the plain emulator nothing runs, so nothing is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from argos_cloud.errors import OperationFailed
from argos_cloud.provision.userdata import SALT_VENV
from argos_cloud.waiting import Backoff

if TYPE_CHECKING:
    from argos_cloud.provision.remote import CommandResult, RemoteExecutor
    from argos_cloud.workflows.session import Session

READY, WAITING, BROKEN = "ARGOS-MASTER-READY", "ARGOS-MASTER-WAITING:", "ARGOS-MASTER-FAILED:"
MASTER_READY_TIMEOUT = 1800.0  # seconds: a new master's user data builds Salt with pip
PROBE_TIMEOUT = 120.0  # one probe's SSM execution timeout
USER_DATA_LOG = "/var/log/argos-user-data.log"
PROBE_COMMENT = "argos-cloud readiness of the master"


def probe_commands() -> list[str]:
    """Shell lines for the master; stdout is one verdict line (and, when broken, a log tail).

    Never exits non-zero on a "no": the verdict is read from the output, and a
    failed or undelivered command is itself a reason to ask again.
    """
    python, salt_run = f"{SALT_VENV}/bin/python", f"{SALT_VENV}/bin/salt-run"
    return [
        "why=''",
        "init=$(cloud-init status 2>/dev/null | sed -n 's/^status: //p')",
        f"if ! {python} -c 'import salt.version, boto3' >/dev/null 2>&1; then "
        f"why='Salt is not installed yet ({python} cannot import salt and boto3)'; "
        "elif ! systemctl is-active --quiet salt-master; then why='salt-master is not running'; "
        "elif [ ! -d /srv/salt ] || [ ! -d /srv/pillar ]; then "
        "why='the state tree is not in /srv/salt and /srv/pillar yet'; "
        f"elif ! timeout 60 {salt_run} --out=json -t 5 manage.up >/dev/null 2>&1; then "
        "why='salt-master does not answer (salt-run manage.up)'; fi",
        f'if [ -z "$why" ]; then echo {READY}; exit 0; fi',
        f'if [ "$init" = error ]; then echo "{BROKEN} $why; its user data failed '
        f'(cloud-init: error); the end of {USER_DATA_LOG}:"; '
        f"tail -n 8 {USER_DATA_LOG} 2>/dev/null; exit 0; fi",
        f'echo "{WAITING} $why (cloud-init: ${{init:-unknown}})"',
    ]


@dataclass(frozen=True)
class Verdict:
    """One probe's answer: ready, or why not, and whether waiting can still help."""

    ready: bool
    reason: str = ""
    hopeless: bool = False


def verdict(sent: CommandResult, master: str) -> Verdict:
    """Pure: read one probe's result (a failed delivery is a reason to ask again)."""
    invocation = next((i for i in sent.invocations if i.instance_id == master), None)
    if invocation is None:
        return Verdict(False, "the readiness check got no answer from the master")
    if not invocation.ok:
        text = (invocation.stderr or invocation.stdout).strip().splitlines()
        return Verdict(False, f"the readiness check ended {invocation.status}"
                       + (f": {text[-1]}" if text else ""))
    lines = invocation.stdout.strip().splitlines()
    first = lines[0].strip() if lines else ""
    if first == READY:
        return Verdict(True)
    if first.startswith(BROKEN):
        tail = " | ".join(line.strip() for line in lines[1:] if line.strip())
        reason = first[len(BROKEN):].strip() + (f" {tail}" if tail else "")
        return Verdict(False, reason, hopeless=True)
    if first.startswith(WAITING):
        return Verdict(False, first[len(WAITING):].strip())
    return Verdict(False, "the readiness check printed no verdict"
                   + (f" ({first[:200]})" if first else ""))


class MasterNotReady(OperationFailed):
    """The master never became ready to run a deploy (or its user data failed)."""


def wait_master_ready(session: Session, executor: RemoteExecutor, master: str, *,
                      timeout: float = MASTER_READY_TIMEOUT, step: str = "master") -> int:
    """Probe the master until it is ready; returns the number of probes (0 on the emulator).

    Raises MasterNotReady with the last reason when `timeout` passes, or at once when
    the master's user data failed.
    """
    if session.emulated:
        return 0
    clock = session.clock
    deadline = clock.now() + timeout
    delays = Backoff(initial=5.0, factor=1.5, cap=30.0)
    probes = 0
    while True:
        sent = executor.run([master], probe_commands(), timeout=PROBE_TIMEOUT,
                            comment=f"{PROBE_COMMENT} {session.scope.environment}")
        probes += 1
        if sent.emulated:
            return probes
        seen = verdict(sent, master)
        if seen.ready:
            if probes > 1:
                session.on_event(step, f"the master {master} is ready")
            return probes
        if seen.hopeless:
            raise MasterNotReady(f"the master {master} cannot run a deploy: {seen.reason}; "
                                 "fix it (or terminate it and run commission), then deploy")
        remaining = deadline - clock.now()
        if remaining <= 0:
            raise MasterNotReady(
                f"the master {master} was not ready after {timeout:g} s: {seen.reason}; "
                f"see {USER_DATA_LOG} on it, then run deploy again")
        session.on_event(step, f"waiting for the master to be ready: {seen.reason}")
        clock.sleep(min(next(delays), remaining))
