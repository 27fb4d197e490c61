"""`plan` and `commission`: desired vs discovered, then the plan walked as a graph.

The plan is made, shown, confirmed and executed as one value; under the lock the
environment is discovered again and a changed fingerprint refuses the run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argos_cloud.config import EnvironmentSpec
from argos_cloud.config.overrides import RunOverrides, apply_run_overrides
from argos_cloud.discovery import ActualState, discover
from argos_cloud.engine.events import Hook
from argos_cloud.engine.graph import StepGraph
from argos_cloud.engine.walk import WalkResult, walk
from argos_cloud.errors import Interrupted, OperationFailed, Refused
from argos_cloud.kinds import kind_module
from argos_cloud.kinds.base import Context, Outputs
from argos_cloud.kinds.bundle import UNKNOWN
from argos_cloud.model.desired import bucket_name, desired_resources
from argos_cloud.model.facts import Facts
from argos_cloud.plan.types import Action, Change, Plan, Resource
from argos_cloud.planning import build_plan
from argos_cloud.workflows.bundles import build_bundle, state_tree
from argos_cloud.workflows.operation import Operation, operation
from argos_cloud.workflows.roll import RollFailed, RollResult, pending, roll_images
from argos_cloud.workflows.session import Session


@dataclass
class Prepared:
    """Everything `plan` computed, kept so `commission` executes exactly that."""

    plan: Plan
    facts: Facts
    actual: ActualState
    tree: Path
    commit: str
    spec: EnvironmentSpec  # the config, with recorded scales and this run's flags applied
    superseded_scales: tuple[str, ...] = ()  # roles whose scale the config's sizes replaced


@dataclass
class CommissionResult:
    plan: Plan
    walk: WalkResult | None
    notes: list[str] = field(default_factory=list)
    rolls: list[RollResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.walk is None or self.walk.ok

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"environment": self.plan.environment,
                               "plan": self.plan.to_json(), "notes": self.notes,
                               "ok": self.ok,
                               "image_rolls": [r.to_json() for r in self.rolls]}
        if self.walk is not None:
            out.update(succeeded=sorted(self.walk.succeeded), failed=self.walk.failed,
                       skipped=sorted(self.walk.skipped),
                       not_started=sorted(self.walk.not_started),
                       interrupted=self.walk.interrupted)
        return out


def user_data_for(session: Session, facts: Facts) -> dict[str, str]:
    """Each role's cloud-init script: no secret, only where to find the master."""
    from argos_cloud.provision.userdata import master_user_data, minion_user_data

    spec, scope = session.spec, session.scope
    data = {role: minion_user_data(scope, role, spec.salt.version, spec.region)
            for role in ("database", "broker", "app", "worker")}
    data["master"] = master_user_data(scope, spec.salt.version, spec.region,
                                      bucket_name(spec.project, spec.name, facts.account_id))
    return data


def image_tree_bundle(tree: Path, system_packages: tuple[str, ...] = ()) -> bytes:
    """What the image bake needs: the tree and a pillar holding no environment's values."""
    from argos_cloud.provision.validate import bundle

    return bundle(tree, {"argos": {"system_packages": list(system_packages)}}, {})


def _addresses(actual: ActualState) -> dict[str, str]:
    out = {}
    for role in ("master", "database", "broker"):
        have = actual.first(f"instance.{role}")
        if have is not None and have.attrs.get("private_ip"):
            out[role] = str(have.attrs["private_ip"])
    return out


def prepare(session: Session, *, restore_snapshot: str | None = None,
            overrides: RunOverrides | None = None) -> Prepared:
    """Read facts and what exists, compute desired state and the plan: read calls only.

    `restore_snapshot` (an id or `latest`) makes the data volume from a snapshot;
    refused while the volume exists, so data is never overwritten. The groups' sizes
    are the config's, or a recorded `scale` made against them (workflows/scale.py),
    then this run's `overrides` (the seed's flags).
    """
    from argos_cloud.kinds.account import read_facts
    from argos_cloud.provision.validate import image_states_digest
    from argos_cloud.workflows.scale import effective_spec

    scaled = effective_spec(session)
    for note in scaled.notes():
        session.note(note)
    spec = apply_run_overrides(scaled.spec, overrides)
    if overrides is not None and not overrides.empty:
        session.note(f"this run only: {overrides.describe()} (the config is unchanged)")
    tree = state_tree(session)
    states = image_states_digest(tree, spec.source.system_packages)
    facts = read_facts(session.clients, spec, states, session.notes)
    actual = discover(session.clients, session.scope)
    restore = None
    if restore_snapshot:
        have = actual.first("volume.database.data")
        if have is not None:
            raise Refused(f"--restore-snapshot: the data volume {have.id} already exists; "
                          "decommission first (its final snapshot is kept) to restore")
        from argos_cloud.kinds.volume import resolve_snapshot

        restore = resolve_snapshot(session.clients, session.scope, restore_snapshot)
    commit = session.deployed_commit() or _configured_commit(session)
    addresses = _addresses(actual)
    digest = UNKNOWN
    if "database" in addresses and "broker" in addresses and "master" in addresses:
        digest = build_bundle(session, tree, facts, commit, addresses)[1]
    desired = desired_resources(spec, facts, user_data_for(session, facts), digest,
                                restore_snapshot=restore)
    plan = build_plan(desired, actual, project=spec.project, environment=spec.name,
                      notes=session.notes)
    return Prepared(plan=plan, facts=facts, actual=actual, tree=tree, commit=commit, spec=spec,
                    superseded_scales=tuple(scaled.superseded))


def _first_deploy(session: Session, prepared: Prepared, plan: Plan, result: Any,
                  executor: Any, hook: Hook | None, under: Operation) -> None:
    """The configured commit through the master, gated on health, recorded (DESIGN §1)."""
    from argos_cloud.provision.git import is_commit
    from argos_cloud.workflows.deploy import DeployFailed, first_deploy
    from argos_cloud.workflows.readiness import MasterNotReady

    if not is_commit(prepared.commit):
        return
    try:  # deploy waits (bounded) for a new master to install Salt before the first batch
        first_deploy(session, prepared.commit, session.spec.source.ref, executor=executor,
                     hook=hook, under=under)
    except MasterNotReady as e:
        raise CommissionFailed(CommissionResult(plan, result, list(session.notes)),
                               f"the environment is built, but its first deploy could not "
                               f"start: {e}") from e
    except DeployFailed as e:
        raise CommissionFailed(CommissionResult(plan, result, list(session.notes)),
                               f"the environment is built, but its first deploy failed: {e}; "
                               "fix the commit and run deploy") from e


def _configured_commit(session: Session) -> str:
    """The config's ref as a commit, resolved as deploy resolves it: a local source
    resolves on the plain emulator too, so the bundle's pillar names the same commit a
    later deploy records (the emulator skips the first deploy: nothing would run it)."""
    from argos_cloud.workflows.deploy import resolve_commit

    notes: list[str] = []
    commit = resolve_commit(session, session.spec.source.ref, notes)
    for note in notes:
        session.note(note)
    return commit


def step_graph(plan: Plan) -> StepGraph:
    """Pending changes as a graph; needs on unchanged resources are already met."""
    pending = {c.address: c for c in plan.pending}
    return StepGraph.of({a: [n for n in c.needs if n in pending] for a, c in pending.items()})


def make_context(session: Session, prepared: Prepared, *, executor: Any = None) -> Context:
    outputs = Outputs()
    for have in prepared.actual.all():
        if outputs.get(have.address) is None:
            outputs.set(have.address, have.id, **dict(have.attrs))
    # what the plan matched wins over the first found (the wanted image, not an older bake)
    for change in prepared.plan.changes:
        if change.before is not None and change.action is not Action.DELETE:
            outputs.set(change.address, change.before.id, **dict(change.before.attrs))
    if executor is None:
        from argos_cloud.provision.remote import SsmExecutor

        executor = SsmExecutor(session.clients, session.clock)
    ctx = Context(clients=session.clients, scope=session.scope, spec=prepared.spec,
                  facts=prepared.facts, outputs=outputs, clock=session.clock,
                  progress=session.on_event, notes=session.notes)

    def bundle_builder(ctx: Context) -> tuple[bytes, str, str]:
        addresses = {role: str(ctx.outputs.attr(f"instance.{role}", "private_ip") or "")
                     for role in ("master", "database", "broker")}
        body, digest = build_bundle(session, prepared.tree, prepared.facts, prepared.commit,
                                    addresses)
        return body, digest, prepared.commit

    image_tree = image_tree_bundle(prepared.tree, session.spec.source.system_packages)

    def bake(ctx: Context, want: Resource) -> str:
        from argos_cloud.provision.bake import bake_image

        return bake_image(ctx, want, executor, image_tree)

    ctx.bundle_builder, ctx.bake = bundle_builder, bake
    return ctx


def execute(session: Session, prepared: Prepared, *, hook: Hook | None = None,
            parallel: int = 4, stop: threading.Event | None = None,
            executor: Any = None) -> CommissionResult:
    """Walk the plan under the lock; journal it; a changed environment refuses the run."""
    plan = prepared.plan
    with operation(session, "commission") as op:
        fresh = discover(session.clients, session.scope)
        if fresh.fingerprint != plan.fingerprint:
            raise Refused("the environment changed since the plan was made (another run?); "
                          "run commission again to plan afresh")
        op.begin(plan_digest=plan.digest())
        ctx = make_context(session, prepared, executor=executor)
        changes = {c.address: c for c in plan.pending}

        def run(address: str) -> str:
            return run_step(session, ctx, changes[address])

        result = walk(step_graph(plan), run, limit=max(1, min(parallel, 16)),
                      hook=op.hook(hook), stop=stop)
        op.conclude(result)  # the first deploy and the roll have entries of their own
        if result.ok and prepared.superseded_scales:  # the config's sizes are applied now
            from argos_cloud.workflows.scale import forget

            forget(session, list(prepared.superseded_scales))
        rolls: list[RollResult] = []
        if result.ok and not session.emulated and session.deployed_commit() is None:
            _first_deploy(session, prepared, plan, result, executor, hook, op)
        if result.ok:  # groups on an older image are rolled onto the new one
            try:
                rolls = roll_images(session, under=op)
            except RollFailed as e:
                raise CommissionFailed(CommissionResult(plan, result, list(session.notes),
                                                        e.results), str(e)) from e
    out = CommissionResult(plan=plan, walk=result, notes=list(session.notes), rolls=rolls)
    if result.interrupted:
        raise Interrupted("commission interrupted: finished steps are kept and tagged; "
                          "run commission again to resume")
    if result.failed:
        step, error = sorted(result.failed.items())[0]
        more = f" (and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ""
        raise CommissionFailed(out, f"step {step} failed: {error}{more}; "
                               f"{len(result.skipped)} dependent step(s) skipped; "
                               "run commission again to resume")
    return out


LOST_ANSWER_ATTEMPTS = 4


def run_step(session: Session, ctx: Context, change: Change) -> str:
    """Apply one change; after a lost answer, look at what AWS did before acting again.

    A write whose answer was lost may have happened: the kind is read again
    by tags, the change diffed afresh, and only what is still missing is done
    (a found resource is adopted, never made twice).
    """
    from argos_cloud.aws.errors import is_lost_answer

    for attempt in range(LOST_ANSWER_ATTEMPTS):
        try:
            return _apply(ctx, change)
        except Exception as e:
            if not is_lost_answer(e) or attempt == LOST_ANSWER_ATTEMPTS - 1:
                raise
            ctx.progress(change.address, "an answer was lost: reading what AWS did")
            fresh = _rediff(session, ctx, change)
            if fresh is None:
                return f"done ({change.address} found as wanted)"
            change = fresh
    raise AssertionError("unreachable")


def _apply(ctx: Context, change: Change) -> str:
    module = kind_module(change.kind)
    if change.action is Action.DELETE:
        assert change.before is not None
        module.delete(ctx, change.before)
        return f"deleted {change.before.id}"
    ident = str(module.apply(ctx, change))
    ctx.outputs.set(change.address, ident)
    return ident


def _rediff(session: Session, ctx: Context, change: Change) -> Change | None:
    """The change still needed for `change.address` now, or None when nothing is left."""
    from argos_cloud.plan.references import target_ids
    from argos_cloud.planning import diff

    found = discover(session.clients, session.scope, [change.kind]).by_address()
    haves = found.get(change.address, [])
    if change.action is Action.DELETE:
        assert change.before is not None
        gone = all(h.id != change.before.id for h in haves)
        return None if gone else change
    want = change.after
    assert want is not None
    haves = kind_module(want.kind).match(want, haves)
    if not haves:
        return Change.create(want)
    have = haves[0]
    fresh = diff(want, have, target_ids(ctx.outputs.get))  # addresses → this run's ids
    if fresh.action is Action.NOOP:
        ctx.outputs.set(change.address, have.id, **dict(have.attrs))
        adopt = getattr(kind_module(want.kind), "adopt", None)  # what the create did besides
        if adopt is not None:
            adopt(ctx, want, have)
        return None
    return fresh


def resume_rolls(session: Session) -> list[RollResult]:
    """With nothing to commission, finish an image roll that an earlier run left undone."""
    if not pending(session):
        return []
    with operation(session, "commission") as op:  # the lock only: the roll is journaled
        return roll_images(session, under=op)


class CommissionFailed(OperationFailed):
    """A step failed; carries the result so the view can show what did succeed."""

    def __init__(self, result: CommissionResult, message: str) -> None:
        super().__init__(message)
        self.result = result
