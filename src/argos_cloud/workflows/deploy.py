"""`deploy`, `rollback`, `history`: one pinned commit everywhere, batch by batch, recorded.

A deploy resolves the ref to one commit, publishes a bundle whose pillar
carries it, and has the master (through SSM Run Command: no SSH) apply the
highstate to one batch of minions at a time. Each batch is judged from Salt's
JSON against the minions expected to answer, never from Salt's exit code
(it exits 0 when states fail or minions stay silent), and app batches wait for
the load balancer to call them healthy, so a broken build stops at its first
batch. The commit is recorded only when every batch succeeded; a failed deploy
puts the previous bundle back, so the batches not yet applied and any instance
the groups start later stay on the recorded commit: no mixed versions.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from argos_cloud.engine.events import Hook, StepFailed, StepStarted, StepSucceeded
from argos_cloud.engine.journal import JournalEntry
from argos_cloud.errors import BadInput, OperationFailed, Refused
from argos_cloud.kinds import auto_scaling_group, target_group
from argos_cloud.model.names import Scope
from argos_cloud.provision import salt_result
from argos_cloud.provision.git import check_ref, is_commit, resolve_ref
from argos_cloud.workflows.operation import Operation, operation
from argos_cloud.workflows.session import DEPLOYED_REF, Session

if TYPE_CHECKING:
    from argos_cloud.model.facts import Facts
    from argos_cloud.provision.remote import CommandResult, RemoteExecutor

DEFAULT_ROLES = ("app", "worker")
HEALTH_TIMEOUT = 600.0  # seconds an app batch has to turn healthy behind the load balancer
SALT_TIMEOUT = 1800.0  # the whole highstate of one batch
SALT_PYTHON = "/opt/salt/bin/python"
MINION_WAIT_TRIES = 60  # about 20 minutes of pings before the highstate reports who is missing
ALL_UP = ("import json,sys\nt=sys.stdin.read()\nd=json.loads(t) if t.strip() else {}\n"
          "sys.exit(0 if all(d.get(m) is True for m in sys.argv[1:]) else 1)\n")
# SSM keeps 24,000 characters of output: a batch's highstate (pip's output in
# `changes`, several minions) is longer. Keep what the verdict needs: each
# state's result, id and the start of its comment, and whether it changed.
COMPACT = (
    "import json,sys\n"
    "def s(v):\n"
    " return {'result':v.get('result'),'__id__':v.get('__id__'),"
    "'comment':str(v.get('comment',''))[:300],'changed':bool(v.get('changes'))}\n"
    "t=sys.stdin.read()\n"
    "d=json.loads(t) if t.strip() else {}\n"
    "out={m:({k:s(v) for k,v in r.items() if isinstance(v,dict)} if isinstance(r,dict) "
    "else [str(x)[:500] for x in r] if isinstance(r,list) else r) for m,r in d.items()}\n"
    "json.dump(out,sys.stdout,separators=(',',':'))\n")
SYNC_TIMEOUT = 300.0
BUNDLE_PATH = "/root/argos-bundle.tar.gz"
DEPLOYED = DEPLOYED_REF
DEPLOYED_PREVIOUS = "deployed-ref-previous"
APPLIED, EMULATED, FAILED, NOT_RUN = "applied", "emulated", "failed", "not run"
EMULATION = ("execution emulated: the command was sent to the master over SSM; Salt did "
             "not run; no state is reported applied")


@dataclass
class BatchOutcome:
    """One batch of one role: its instances, what happened, and why it failed if it did."""

    role: str
    index: int
    of: int
    instance_ids: list[str]
    status: str  # APPLIED, EMULATED, FAILED or NOT_RUN
    problems: list[str] = field(default_factory=list)
    health: dict[str, str] = field(default_factory=dict)
    command_id: str | None = None

    @property
    def step(self) -> str:
        return f"{self.role} batch {self.index}/{self.of}"

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "batch": self.index, "of": self.of,
                "instances": self.instance_ids, "status": self.status,
                "problems": self.problems, "target_health": self.health,
                "command_id": self.command_id}


@dataclass
class DeployResult:
    """What a deploy or rollback did: reported as sent, never as applied when emulated."""

    command: str
    environment: str
    commit: str
    ref: str
    previous: str | None
    roles: list[str]
    master: str
    bundle_key: str
    emulated: bool
    notes: list[str] = field(default_factory=list)
    rotated: dict[str, list[str]] = field(default_factory=dict)  # role -> its target groups
    stand_ins: list[str] = field(default_factory=list)
    batches: list[BatchOutcome] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)
    recorded: bool = False

    @property
    def ok(self) -> bool:
        return self.recorded and all(b.status in (APPLIED, EMULATED) for b in self.batches)

    @property
    def failed_step(self) -> str | None:
        return next((b.step for b in self.batches if b.status == FAILED), None)

    def record_command(self, sent: CommandResult) -> None:
        self.commands.append({"command_id": sent.command_id, "document": sent.document,
                              "targets": list(sent.targets), "commands": list(sent.commands),
                              "emulated": sent.emulated})

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "environment": self.environment, "ok": self.ok,
                "commit": self.commit, "ref": self.ref, "previous": self.previous,
                "recorded": self.recorded, "roles": self.roles, "master": self.master,
                "bundle": self.bundle_key, "emulated": self.emulated,
                "execution": EMULATION if self.emulated else "executed",
                "batches": [b.to_json() for b in self.batches],
                "out_of_rotation": sorted(self.rotated), "stand_ins": self.stand_ins,
                "commands": self.commands, "notes": self.notes}


class DeployFailed(OperationFailed):
    """A batch failed; carries the result so the view can show what was and was not done."""

    def __init__(self, result: DeployResult, message: str) -> None:
        super().__init__(message)
        self.result = result

    @property
    def failed_step(self) -> str | None:
        """The batch that failed, for the journal."""
        return self.result.failed_step


# -- pure pieces (tested with ==)
def batch_size(batch: str, count: int) -> int:
    """`N` instances or `N%` of the group's in-service count; at least 1."""
    match = re.fullmatch(r"\s*(\d+)\s*(%?)\s*", batch)
    if match is None or int(match.group(1)) < 1 or (match.group(2) and int(match.group(1)) > 100):
        raise BadInput(f"--batch: '{batch}' is not N (a count ≥ 1) or N% (1 to 100%)")
    n = int(match.group(1))
    if match.group(2):
        return max(1, math.ceil(count * n / 100))
    return n


def split_batches(ids: list[str], size: int) -> list[list[str]]:
    return [ids[i:i + size] for i in range(0, len(ids), max(1, size))]


def minion_id(scope: Scope, role: str, instance_id: str) -> str:
    """The id a group instance's minion uses: its user data writes `<name>-<instance id>`
    (provision/userdata.minion_user_data), so expected minions follow from the group."""
    return f"{scope.name(role)}-{instance_id}"


def salt_target(scope: Scope, role: str, minions: list[str]) -> str:
    """Compound target: this environment's grains AND the explicit minion list.

    The grains keep a stray id from reaching another environment's minion; the list
    keeps the run to this batch. Either alone would be weaker.
    """
    return (f"G@environment:{scope.environment} and G@project:{scope.project} and "
            f"G@roles:{role} and L@{','.join(minions)}")


def sync_command(bucket: str, key: str, region: str) -> list[str]:
    """Shell lines for the master: fetch the bundle and swap /srv/salt and /srv/pillar.

    Everything goes to stderr so stdout carries Salt's JSON alone.
    """
    return [
        "set -euo pipefail",
        f"/opt/salt/bin/python - {shlex.quote(bucket)} {shlex.quote(key)} "
        f"{shlex.quote(region)} 1>&2 <<'PY'",
        "import sys",
        "import boto3",
        f"boto3.client('s3', region_name=sys.argv[3]).download_file(sys.argv[1], sys.argv[2], "
        f"'{BUNDLE_PATH}')",
        "PY",
        "NEW=$(mktemp -d /srv/.argos-bundle-XXXXXX)",
        f'tar -xzf {BUNDLE_PATH} -C "$NEW" --no-same-owner 1>&2',
        'rm -rf /srv/salt /srv/pillar && mv "$NEW/salt" "$NEW/pillar" /srv/ && rmdir "$NEW"',
        "chmod -R go-rwx /srv/pillar",
    ]


def highstate_command(scope: Scope, role: str, minions: list[str], bucket: str, key: str,
                      region: str) -> list[str]:
    """Fetch the bundle, then apply the highstate to exactly these minions, as JSON.

    `--static` gathers every minion into one document (it also exits 0 when states
    fail: the caller reads the JSON, never the exit code). `-t` waits as long as a
    highstate may take (salt's default gives up on a busy minion after seconds),
    and `queue=True` lets a minion finish the highstate it runs at start first.
    """
    target = shlex.quote(salt_target(scope, role, minions))
    listed = shlex.quote(",".join(minions))
    return [*sync_command(bucket, key, region),
            # New instances install Salt from their user data after they are "in service":
            # wait (bounded) until every minion of the batch answers the master.
            f"for attempt in $(seq 1 {MINION_WAIT_TRIES}); do salt --out=json --static -t 10 "
            f"-L {listed} test.ping 2>/dev/null | {SALT_PYTHON} -c {shlex.quote(ALL_UP)} "
            f"{' '.join(shlex.quote(m) for m in minions)} && break; sleep 10; done",
            f"salt --out=json --static -t {int(SALT_TIMEOUT)} -C {target} "
            f"state.highstate queue=True | {SALT_PYTHON} -c {shlex.quote(COMPACT)}"]


# -- the workflow
def deploy(session: Session, *, ref: str | None, roles: list[str] | None = None,
           batch: str = "50%", executor: RemoteExecutor | None = None,
           hook: Hook | None = None, command: str = "deploy",
           resolve: Callable[[str, str], str] = resolve_ref) -> DeployResult:
    """Deploy `ref` (default: the config's) to `roles`; raises DeployFailed on a bad batch."""
    notes: list[str] = []
    wanted = check_ref(ref) if ref is not None else check_ref(session.spec.source.ref,
                                                               "source.ref")
    commit = resolve_commit(session, wanted, notes, resolve)
    return _run(session, command, lambda: (commit, wanted, notes), roles, batch, executor, hook,
                rotate=True)


def rollback(session: Session, *, roles: list[str] | None = None, batch: str = "50%",
             executor: RemoteExecutor | None = None, hook: Hook | None = None) -> DeployResult:
    """Deploy the successful commit before the current one (chosen under the lock)."""
    def target() -> tuple[str, str, list[str]]:
        entry = previous_deploy(session.journal().last_successful_deploys(),
                                session.deployed_commit())
        note = (f"rolling back to {entry.commit}, deployed by {entry.who} at {entry.at} "
                f"({entry.command})")
        assert entry.commit is not None
        return entry.commit, entry.commit, [note]

    return _run(session, "rollback", target, roles, batch, executor, hook, rotate=True)


def previous_deploy(successes: list[JournalEntry], current: str | None) -> JournalEntry:
    """Newest successful deploy whose commit differs from the current one."""
    current = current or next((e.commit for e in successes if e.commit), None)
    for entry in successes:
        if entry.commit and entry.commit != current:
            return entry
    raise BadInput("no earlier successful deploy to roll back to"
                   + (f" (the deployed commit is {current})" if current else ""))


def history(session: Session, *, limit: int = 20, offline: bool = False) -> list[JournalEntry]:
    """Newest first; `offline` reads the local copy only (no AWS call)."""
    journal = session.journal()
    return journal.entries_offline(limit) if offline else journal.entries(limit)


def resolve_commit(session: Session, ref: str, notes: list[str],
                   resolve: Callable[[str, str], str] = resolve_ref) -> str:
    """`ref` as a commit; on the plain emulator an unreachable source keeps it as given."""
    if is_commit(ref):
        return ref.lower()
    try:
        return resolve(session.source_repository(), ref)
    except (BadInput, OperationFailed) as e:
        if not session.emulated:
            raise
        notes.append(f"warning: could not resolve '{ref}' ({e}); on the emulator it is "
                     "recorded as given, not as a commit")
        return ref


def first_deploy(session: Session, commit: str, ref: str, *, under: Operation,
                 executor: RemoteExecutor | None = None,
                 hook: Hook | None = None) -> DeployResult:
    """Commission's deploy of the configured ref, under commission's lock.

    The new hosts converge by themselves as they start; this applies the
    highstate through the master, gates on health, and records the commit as
    the first deployed one (a `deploy` in history), so rollback has a base.
    Nothing serves customers yet, so nothing is taken out of rotation.
    """
    return _run(session, "deploy", lambda: (commit, ref, []), None, "100%", executor, hook,
                under=under)


def _run(session: Session, command: str, target: Callable[[], tuple[str, str, list[str]]],
         roles: list[str] | None, batch: str, executor: RemoteExecutor | None,
         hook: Hook | None, *, under: Operation | None = None,
         rotate: bool = False) -> DeployResult:
    chosen = list(dict.fromkeys(roles or DEFAULT_ROLES))
    bad = [r for r in chosen if r not in DEFAULT_ROLES]
    if bad:
        raise BadInput(f"--roles: {', '.join(bad)}: only app and worker are deployed")
    batch_size(batch, 1)  # bad input before the lock
    with operation(session, command, under=under) as op:
        commit, ref, notes = target()  # chosen under the lock: rollback reads the history
        op.begin(commit=commit)
        return _execute(session, command, commit, ref, chosen, batch, notes, executor,
                        op.hook(hook), rotate)


def _execute(session: Session, command: str, commit: str, ref: str, roles: list[str],
             batch: str, notes: list[str], executor: RemoteExecutor | None,
             hook: Hook | None, rotate: bool = False) -> DeployResult:
    from argos_cloud.discovery import discover
    from argos_cloud.kinds.bundle import publish
    from argos_cloud.workflows.bundles import build_bundle, state_tree

    clients, scope = session.clients, session.scope
    store = session.store()
    previous_bundle = store.get(scope.parameter("bundle"))
    instances = discover(clients, scope, ["instance"])
    master = instances.first("instance.master")
    if master is None or previous_bundle is None:
        raise Refused(f"{scope.project}/{scope.environment} is not commissioned (no master "
                      "or no bundle): run commission first")
    groups: dict[str, list[str]] = {}
    arns: dict[str, list[str]] = {}
    for role in roles:
        group = auto_scaling_group.describe_group(clients, scope.name(role))
        if group is None:
            raise Refused(f"{scope.project}/{scope.environment} has no {role} group: "
                          "run commission first")
        groups[role] = [str(i["id"]) for i in
                        auto_scaling_group.in_service_instances(clients, scope, role)]
        arns[role] = sorted(group.get("TargetGroupARNs", []))
        if not groups[role]:
            notes.append(f"the {role} group has no instance in service: nothing to apply; "
                         "instances it starts later get the recorded commit")
    if executor is None:
        from argos_cloud.provision.remote import SsmExecutor

        executor = SsmExecutor(clients, session.clock)
    from argos_cloud.workflows.readiness import wait_master_ready

    wait_master_ready(session, executor, master.id)  # a new master installs Salt first
    addresses = {r: str(a.attrs.get("private_ip") or "") for r in ("master", "database", "broker")
                 if (a := instances.first(f"instance.{r}")) is not None}
    bucket = _bucket(previous_bundle)
    body, digest = build_bundle(session, state_tree(session), _network_facts(session), commit,
                                addresses)
    key = publish(clients, scope, bucket, body, digest, commit)
    result = DeployResult(command=command, environment=scope.environment or "", commit=commit,
                          ref=ref, previous=session.deployed_commit(), roles=roles,
                          master=master.id, bundle_key=key, emulated=session.emulated,
                          notes=[*notes, *session.notes])
    for role in roles:
        ids = groups[role]
        size = batch_size(batch, len(ids))
        batches = split_batches(ids, size)
        for index, members in enumerate(batches, start=1):
            result.batches.append(BatchOutcome(role, index, len(batches), members, NOT_RUN))
    # Behind a load balancer a batch leaves the rotation while it changes (rotation.py).
    result.rotated = {r: arns[r] for r in roles if rotate and arns.get(r) and groups[r]}
    if result.rotated and session.emulated:
        result.notes.append("the emulator drains nothing: moto drops a deregistered target at "
                            "once (on AWS and on the hosts sandbox requests in flight finish)")
    with contextlib.ExitStack() as capacity:
        try:
            if "app" in result.rotated:
                _stand_ins(session, capacity, result)
            for outcome in result.batches:
                _run_batch(session, executor, result, outcome, bucket, key,
                           arns[outcome.role], hook)
        except BaseException as e:  # a failed batch, an AWS error, Ctrl-C: the old bundle back
            _restore_bundle(session, executor, result, previous_bundle)
            if isinstance(e, DeployFailed) and not session.emulated:
                _bring_back(session, executor, result, previous_bundle)
            raise  # the stand-ins go only now: the brought-back batches had them
    store.put(scope.parameter(DEPLOYED), commit, tags=scope.tags("record"))
    if result.previous and result.previous != commit:
        store.put(scope.parameter(DEPLOYED_PREVIOUS), result.previous, tags=scope.tags("record"))
    result.recorded = True
    return result


def _run_batch(session: Session, executor: RemoteExecutor, result: DeployResult,
               outcome: BatchOutcome, bucket: str, key: str, arns: list[str],
               hook: Hook | None) -> None:
    step = outcome.step
    if hook is not None:
        hook.on_event(StepStarted(step))
    _apply_batch(session, executor, result, outcome, bucket, key, arns)
    if outcome.status == FAILED:
        if hook is not None:
            hook.on_event(StepFailed(step, "; ".join(outcome.problems)))
        raise DeployFailed(result, f"{step} failed: {'; '.join(outcome.problems)}; the "
                           f"batches after it were not applied and {result.commit} was not "
                           "recorded")
    # Each instance says what it runs (status reads it): a batch that succeeded runs
    # this commit even if a later batch fails and the recorded commit stays the old one.
    from argos_cloud.kinds.instance import tag_commit

    tag_commit(session.clients, outcome.instance_ids, result.commit)
    if hook is not None:
        hook.on_event(StepSucceeded(step, outcome.status))


def _apply_batch(session: Session, executor: RemoteExecutor, result: DeployResult,
                 outcome: BatchOutcome, bucket: str, key: str, arns: list[str]) -> None:
    scope = session.scope
    minions = [minion_id(scope, outcome.role, i) for i in outcome.instance_ids]
    lines = highstate_command(scope, outcome.role, minions, bucket, key, session.clients.region)
    with _out_of_rotation(session, result, outcome):
        session.on_event(outcome.step, f"applying highstate to {len(minions)} minion(s)")
        sent = executor.run([result.master], lines, timeout=SALT_TIMEOUT,
                            comment=f"argos-cloud {result.command} {scope.environment} "
                                    f"{outcome.step} {result.commit[:12]}")
    result.record_command(sent)
    outcome.command_id = sent.command_id
    if sent.emulated or session.emulated:
        outcome.status = EMULATED
        result.emulated = True
    else:
        invocation = next((i for i in sent.invocations if i.instance_id == result.master),
                          None)
        outcome.problems = salt_result.command_problems(invocation, minions)
        outcome.status = FAILED if outcome.problems else APPLIED
    if outcome.status != FAILED and arns:
        outcome.problems = _wait_healthy(session, outcome, arns)
        if outcome.problems:
            outcome.status = FAILED


def _stand_ins(session: Session, capacity: contextlib.ExitStack, result: DeployResult) -> None:
    """As many extra app instances as the largest batch, healthy before the first batch."""
    from argos_cloud.kinds.auto_scaling_group import GroupOps
    from argos_cloud.workflows.rotation import stand_ins

    largest = max(len(b.instance_ids) for b in result.batches if b.role == "app")
    held = capacity.enter_context(stand_ins(
        GroupOps(session.clients, session.scope, "app"), largest, clock=session.clock,
        say=lambda message: session.on_event("app stand-ins", message)))
    result.stand_ins = list(held.ids)


@contextlib.contextmanager
def _out_of_rotation(session: Session, result: DeployResult,
                     outcome: BatchOutcome) -> Iterator[None]:
    """The batch drained from its target groups for the `with`, registered again after."""
    from argos_cloud.workflows.rotation import drain, undrain

    arns = result.rotated.get(outcome.role, [])
    if not arns:
        yield
        return
    try:
        drain(session, arns, outcome.instance_ids,
              lambda message: session.on_event(outcome.step, message))
        yield
    finally:
        undrain(session, arns, outcome.instance_ids)


def _wait_healthy(session: Session, outcome: BatchOutcome, arns: list[str]) -> list[str]:
    from argos_cloud.waiting import wait_for

    session.on_event(outcome.step, "waiting for the load balancer to report it healthy")

    def states() -> dict[str, str]:
        merged = dict.fromkeys(outcome.instance_ids, "healthy")
        for arn in arns:  # healthy only when healthy in every target group
            health = target_group.target_health(session.clients, arn)
            for iid, state in merged.items():
                if state == "healthy":
                    merged[iid] = health.get(iid, "not registered")
        return merged

    last: dict[str, str] = {}

    def done(now: dict[str, str]) -> bool:
        last.update(now)
        return all(s == "healthy" for s in now.values())

    with contextlib.suppress(OperationFailed):  # a timeout: `last` says who is not healthy
        wait_for(states, done, clock=session.clock, timeout=HEALTH_TIMEOUT,
                 what=f"{outcome.step} target health", initial=5.0, cap=30.0)
    outcome.health = dict(last)
    return [f"{iid} is {state} behind the load balancer after {HEALTH_TIMEOUT:g} s"
            for iid, state in sorted(last.items()) if state != "healthy"]


def _restore_bundle(session: Session, executor: RemoteExecutor, result: DeployResult,
                    previous: str) -> None:
    """Point the master back at the bundle it had, so nothing else picks up the new commit."""
    try:
        session.store().put(session.scope.parameter("bundle"), previous)
        record = json.loads(previous)
        sent = executor.run([result.master], sync_command(record["bucket"], record["key"],
                                                          session.clients.region),
                            comment=f"argos-cloud {result.command} restore bundle",
                            timeout=SYNC_TIMEOUT)
        result.record_command(sent)
        if not (sent.ok or sent.emulated):
            result.notes.append(f"the master did not confirm it restored the previous bundle "
                                f"(command {sent.command_id})")
    except Exception as e:  # never hide the batch failure behind this one
        result.notes.append(f"could not restore the previous bundle on the master: {e}")


def _bring_back(session: Session, executor: RemoteExecutor, result: DeployResult,
                previous: str) -> None:
    """The batches that ran the new commit run the last good one again (its bundle's commit)."""
    touched = [o for o in result.batches if o.status in (APPLIED, FAILED)]
    try:
        record = json.loads(previous)
        bucket, key, commit = record["bucket"], record["key"], record.get("commit")
    except (ValueError, KeyError, TypeError):
        result.notes.append("the previous bundle is unreadable: the failed batch keeps the new "
                            "commit; deploy a good commit")
        return
    for outcome in touched:
        minions = [minion_id(session.scope, outcome.role, i) for i in outcome.instance_ids]
        session.on_event(outcome.step, f"bringing {len(minions)} minion(s) back to "
                                       f"{str(commit or 'the previous commit')[:12]}")
        with _out_of_rotation(session, result, outcome):
            sent = executor.run([result.master], highstate_command(
                session.scope, outcome.role, minions, bucket, key, session.clients.region),
                timeout=SALT_TIMEOUT, comment=f"argos-cloud {result.command} bring back "
                                              f"{outcome.step}")
        result.record_command(sent)
        invocation = next((i for i in sent.invocations if i.instance_id == result.master),
                          None)
        problems = salt_result.command_problems(invocation, minions)
        if problems:
            result.notes.append(f"{outcome.step}: bringing back failed too: "
                                f"{'; '.join(problems)}")
        else:
            result.notes.append(f"{outcome.step}: brought back to "
                                f"{commit or 'the previous bundle'}")
            if result.rotated.get(outcome.role):  # serving again before the stand-ins go
                unhealthy = _wait_healthy(session, outcome, result.rotated[outcome.role])
                result.notes.extend(f"{outcome.step}: {p}" for p in unhealthy)
            if commit:
                from argos_cloud.kinds.instance import tag_commit

                tag_commit(session.clients, outcome.instance_ids, commit)


def _bucket(bundle_record: str) -> str:
    try:
        return str(json.loads(bundle_record)["bucket"])
    except (ValueError, KeyError, TypeError):
        raise OperationFailed("the environment's bundle record is unreadable: run commission "
                              "again to republish it") from None


def _network_facts(session: Session) -> Facts:
    """The facts the pillar needs (the VPC's CIDR); no image lookup, which deploy never uses."""
    from argos_cloud.kinds.account import read_network
    from argos_cloud.model.facts import Facts

    vpc_id, cidr, subnets = read_network(session.clients, session.spec)
    return Facts(account_id="", region=session.clients.region, vpc_id=vpc_id, vpc_cidr=cidr,
                 subnet_ids=tuple(s for s, _ in subnets),
                 availability_zones=tuple(z for _, z in subnets), base_ami_id="",
                 image_digest="", emulated=session.emulated)
