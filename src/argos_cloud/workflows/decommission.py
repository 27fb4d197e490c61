"""Decommission: delete everything tagged for an environment, in dependency order.

Found by tags alone (never a local record), so it runs on any partial state and
from any machine, and a half-finished teardown never blocks the next one; it
waits out asynchronous deletes so no security group is left behind, and
re-runs never pile up snapshots. The database's data volume gets a final
snapshot before anything of the database goes; the image stays unless asked. The
order lives in a pure step graph, asserted by unit tests, because moto does not
check dependencies on delete. A fresh discovery at the end proves what is left.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argos_cloud.discovery import discover
from argos_cloud.engine.events import Hook, StepProgress
from argos_cloud.engine.graph import StepGraph
from argos_cloud.engine.journal import HISTORY_LEAF
from argos_cloud.engine.lock import LOCK_LEAF
from argos_cloud.engine.walk import WalkResult, walk
from argos_cloud.errors import Refused
from argos_cloud.kinds import KIND_NAMES, kind_module
from argos_cloud.kinds.base import Context, Outputs, Teardown
from argos_cloud.model.facts import Facts
from argos_cloud.model.names import (
    MANAGED_BY,
    RECORD_ROLE,
    TAG_ENVIRONMENT,
    TAG_MANAGED_BY,
    TAG_PROJECT,
    Scope,
)
from argos_cloud.plan.types import Actual
from argos_cloud.workflows.operation import Operation, operation
from argos_cloud.workflows.session import Session

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

SNAPSHOT_STEP = "snapshot.database"
REVOKE_STEP = "revoke.security_groups"
EMULATOR_ORDER_NOTE = (
    "emulator: moto does not check dependencies on delete (a group still in use deletes "
    "anyway), so the teardown order is proved on the step graph, not by this run")


@dataclass(frozen=True)
class ProjectWide(Scope):
    """Every environment of a project (to see who still uses a shared image)."""

    def owns(self, tags: dict[str, str]) -> bool:
        return tags.get(TAG_PROJECT) == self.project and tags.get(TAG_MANAGED_BY) == MANAGED_BY


def rule(kind: str) -> Teardown:
    """The kind's declared teardown (kinds/base.py `Teardown`)."""
    return kind_module(kind).DECLARED.teardown


def environment_kinds() -> tuple[str, ...]:
    """The kinds an environment owns; shared ones (the image) belong to the project."""
    return tuple(k for k in KIND_NAMES if not rule(k).shared)


def shared_kinds() -> tuple[str, ...]:
    return tuple(k for k in KIND_NAMES if rule(k).shared)


def step_names(actuals: Iterable[Actual]) -> dict[str, Actual]:
    """Step name → resource: its address, plus `#id` where several share one (strays)."""
    items = list(actuals)
    counts: dict[str, int] = defaultdict(int)
    for a in items:
        counts[a.address] += 1
    return {(a.address if counts[a.address] == 1 else f"{a.address}#{a.id}"): a for a in items}


def teardown_graph(actuals: Iterable[Actual], *, final_snapshot: bool = False) -> StepGraph:
    """Pure: each step needs first the steps whose resources hold on to its resource.

    The order is each kind's declared `teardown` (kinds/base.py). Edges are
    deletion order (no reversal needed): e.g. a security group's step needs the
    revoke step, which needs every instance, group and load balancer gone.
    """
    steps = step_names(actuals)
    of: dict[str, set[str]] = defaultdict(set)
    for step, a in steps.items():
        of[a.kind].add(step)
    rules = {kind: rule(kind) for kind in of}

    def kinds(names: Iterable[str]) -> set[str]:
        return set().union(*(of[n] for n in names))

    deps: dict[str, set[str]] = {step: set() for step in steps}
    snapshot = final_snapshot and any(rules[a.kind].snapshots(a) for a in steps.values())
    if snapshot:
        deps[SNAPSHOT_STEP] = set()
    unlinks = [t.unlink_after for t in rules.values() if t.unlink is not None]
    if unlinks:
        deps[REVOKE_STEP] = kinds(k for after in unlinks for k in after)
    for step, a in steps.items():
        t = rules[a.kind]
        deps[step] |= kinds(t.after)
        if t.unlink is not None:
            deps[step].add(REVOKE_STEP)
        if snapshot and a.role in t.snapshot_roles:
            deps[step].add(SNAPSHOT_STEP)
    early = {s for s in deps if s not in steps or not rules[steps[s].kind].last}
    for step, a in steps.items():
        if rules[a.kind].last:
            deps[step] |= early
    return StepGraph.of(deps)


@dataclass(frozen=True)
class TeardownPlan:
    """What decommission will delete and keep; shown, confirmed, then run as is."""

    environment: str
    project: str
    deletes: tuple[Actual, ...]
    keeps: tuple[str, ...]
    graph: StepGraph
    final_snapshot: bool
    delete_image: bool
    notes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.deletes

    @property
    def steps(self) -> dict[str, Actual]:
        return step_names(self.deletes)

    def digest(self) -> str:
        rows = sorted((step, a.id) for step, a in self.steps.items())
        return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "environment": self.environment,
                "digest": self.digest(), "final_snapshot": self.final_snapshot,
                "delete_image": self.delete_image,
                "delete": [{"step": s, **a.to_json()} for s, a in sorted(self.steps.items())],
                "keep": list(self.keeps), "order": list(self.graph.topological_order()),
                "notes": list(self.notes)}



@dataclass(frozen=True)
class TeardownResult:
    """What was deleted and kept, what failed, and what a fresh discovery still found."""

    environment: str
    project: str
    deleted: list[str]
    kept: list[str]
    failed: dict[str, str]
    snapshots: list[str]
    remaining: list[Actual]
    interrupted: bool = False
    not_done: list[str] = field(default_factory=list)  # skipped or never started
    notes: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)  # final snapshots beyond retention

    @property
    def ok(self) -> bool:
        return not (self.failed or self.interrupted or self.remaining or self.not_done)

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "environment": self.environment, "ok": self.ok,
                "deleted": self.deleted, "kept": self.kept, "failed": self.failed,
                "snapshots": self.snapshots, "pruned_snapshots": self.pruned,
                "interrupted": self.interrupted,
                "not_done": self.not_done,
                "remaining": [a.to_json() for a in self.remaining], "notes": self.notes}


def placeholder_facts(session: Session) -> Facts:
    """Deletes need no facts of the account; the Context wants a value anyway."""
    return Facts(account_id="", region=session.spec.region or "", vpc_id="", vpc_cidr="",
                 subnet_ids=(), availability_zones=(), base_ami_id="", image_digest="",
                 emulated=session.emulated)


def images_in_use(clients: Clients, project: str, image_ids: Iterable[str], *,
                  besides: str | None = None) -> dict[str, list[str]]:
    """image id → the environments (other than `besides`) whose launch templates use it."""
    wanted = set(image_ids)
    if not wanted:
        return {}
    templates = kind_module("launch_template").read(clients, ProjectWide(project, None))
    out: dict[str, set[str]] = defaultdict(set)
    for lt in templates:
        image = lt.attrs.get("image_id") or lt.attrs.get("image")
        env = lt.tags.get(TAG_ENVIRONMENT, "?")
        if image in wanted and env != besides:
            out[str(image)].add(env)
    return {image: sorted(envs) for image, envs in sorted(out.items())}


def _is_lock(a: Actual) -> bool:
    return a.role == RECORD_ROLE and a.key == LOCK_LEAF


def plan_decommission(session: Session, *, delete_image: bool = False,
                      skip_final_snapshot: bool = False) -> TeardownPlan:
    """Discover by tags (read calls only) and decide what goes and what stays."""
    spec, scope = session.spec, session.scope
    found = discover(session.clients, scope, environment_kinds()).all()
    deletes = [a for a in found if not _is_lock(a)]
    keeps: list[str] = []
    notes: list[str] = list(session.notes)
    images = [a for k in shared_kinds()
              for a in kind_module(k).read(session.clients, session.project_scope)]
    if delete_image and images:
        used = images_in_use(session.clients, spec.project, [i.id for i in images],
                             besides=spec.name)
        if used:
            who = "; ".join(f"{image} by {', '.join(envs)}" for image, envs in used.items())
            raise Refused(f"the image is still used by other environments' launch templates "
                          f"({who}); decommission those first, or drop --delete-image")
        deletes += images
    else:
        keeps += [f"{i.kind.replace('_', ' ')} {i.name} ({i.id}) (shared by the project's "
                  "environments; --delete-image deletes it)" for i in images]
    final = not skip_final_snapshot
    keep = spec.database.keep_final_snapshots
    if keep is not None:
        keeps.append(f"final snapshots: the newest {keep} are kept, older ones deleted "
                     "([database] keep_final_snapshots)")
    for v in (a for a in deletes if rule(a.kind).snapshots(a)):
        keeps.append(f"final snapshot of {v.id} ({v.address}) will be taken and kept" if final
                     else f"no final snapshot of {v.id} ({v.address}): --skip-final-snapshot")
    if any(a.role == RECORD_ROLE and a.key.startswith(f"{HISTORY_LEAF}/") for a in deletes):
        keeps.append("the environment's history is deleted from SSM with it; its last entry "
                     "is kept in the local copy")
    for lock in (a for a in found if _is_lock(a)):
        keeps.append(f"lock {lock.id}: held by another operation now; it must end first "
                     "(or --break-lock a stale one)")
    if session.emulated and deletes:
        notes.append(EMULATOR_ORDER_NOTE)
    return TeardownPlan(environment=spec.name, project=spec.project, deletes=tuple(deletes),
                        keeps=tuple(keeps), graph=teardown_graph(deletes, final_snapshot=final),
                        final_snapshot=final, delete_image=delete_image, notes=tuple(notes))


def make_context(session: Session, plan: TeardownPlan, hook: Hook | None) -> Context:
    """Outputs seeded from discovery (address → id): revoking needs group ids by role."""
    outputs = Outputs()
    for a in plan.deletes:
        if outputs.get(a.address) is None:
            outputs.set(a.address, a.id, **dict(a.attrs))

    def progress(step: str, message: str) -> None:
        session.on_event(step, message)
        if hook is not None:
            hook.on_event(StepProgress(step, message))

    return Context(clients=session.clients, scope=session.scope, spec=session.spec,
                   facts=placeholder_facts(session), outputs=outputs, clock=session.clock,
                   progress=progress, notes=session.notes)


def decommission(session: Session, plan: TeardownPlan, *, hook: Hook | None = None,
                 parallel: int = 4, stop: threading.Event | None = None) -> TeardownResult:
    """Under the lock, walk the plan and journal it; then, unlocked, verify what is left."""
    if plan.empty:
        return TeardownResult(plan.environment, plan.project, deleted=[],
                              kept=list(plan.keeps), failed={}, snapshots=[], remaining=[],
                              notes=list(plan.notes))
    # the walk deletes the history parameters too: the entry may end in the local copy
    with operation(session, "decommission", history_may_go=True) as op:
        op.begin(plan_digest=plan.digest())
        teardown = walk_teardown(session, plan, op.hook(hook), parallel, stop)
        journal_teardown(session, op, teardown.walked)
    return verify(session, plan, teardown, history_in_aws=op.in_aws,
                  local_history=op.journal.local_file)


def journal_teardown(session: Session, op: Operation, walked: WalkResult) -> None:
    """The walk's outcome; a full teardown deletes the SSM history with the environment,
    and its own entry then lands in the local copy alone (never recreated in SSM)."""
    if walked.ok:
        session.store().delete_path(op.journal.path)
    op.conclude(walked, detail=f"{len(walked.succeeded)} steps")


@dataclass(frozen=True)
class TeardownRun:
    """What the walk did: its result and the final snapshots it took."""

    walked: WalkResult
    snapshots: list[str]


def walk_teardown(session: Session, plan: TeardownPlan, hook: Hook, parallel: int,
                  stop: threading.Event | None) -> TeardownRun:
    """Walk the teardown graph: deletes, the final snapshot and the revoke step."""
    steps = plan.steps
    ctx = make_context(session, plan, hook)
    volumes = [(a, t.snapshot) for a in plan.deletes
               if (t := rule(a.kind)).snapshot is not None and t.snapshots(a)]
    linked = [(a, t.unlink) for a in plan.deletes if (t := rule(a.kind)).unlink is not None]
    snapshots: list[str] = []
    guard = threading.Lock()

    def run(step: str) -> str:
        """Each step is safe to repeat (gone = done; a snapshot is looked up by its tags),
        so a lost answer is met by doing the step again, never by failing the run."""
        from argos_cloud.aws.errors import is_lost_answer

        for attempt in range(4):
            try:
                return run_once(step)
            except Exception as e:
                if not is_lost_answer(e) or attempt == 3:
                    raise
                ctx.progress(step, "an answer was lost: checking what AWS did")
        raise AssertionError("unreachable")

    def run_once(step: str) -> str:
        if step == SNAPSHOT_STEP:
            made = [take(ctx, v, f"decommission of {session.scope.name(v.role)}, volume {v.id}")
                    for v, take in volumes]
            with guard:
                snapshots.extend(made)
            return f"kept {', '.join(made)}"
        if step == REVOKE_STEP:
            for g, cut in linked:
                cut(ctx, g)
            return f"revoked the cross-references of {len(linked)} group(s)"
        have = steps[step]
        kind_module(have.kind).delete(ctx, have)
        return f"deleted {have.id}"

    walked = walk(plan.graph, run, limit=max(1, min(parallel, 16)), hook=hook, stop=stop)
    return TeardownRun(walked, snapshots)


def verify(session: Session, plan: TeardownPlan, teardown: TeardownRun, *, history_in_aws: bool,
           local_history: Path | None) -> TeardownResult:
    """After the lock: prune old final snapshots, then a fresh discovery says what is left."""
    walked, snapshots, steps = teardown.walked, teardown.snapshots, plan.steps
    pruned = _prune_final_snapshots(session, plan, snapshots, walked.succeeded)
    remaining = discover(session.clients, session.scope, environment_kinds()).all()
    gone_shared = {a.id for a in plan.deletes if rule(a.kind).shared}
    if gone_shared:
        remaining += [a for k in shared_kinds()
                      for a in kind_module(k).read(session.clients, session.project_scope)
                      if a.id in gone_shared]
    kept = [k for k in plan.keeps if not k.startswith(("final snapshot", "the environment's"))]
    kept += [f"final snapshot {s} of the database data volume (tagged role database, "
             f"environment {plan.environment}, and the time)" for s in snapshots]
    notes = list(plan.notes) + [n for n in session.notes if n not in plan.notes]  # lock takeover
    notes.append("history: this run is recorded in the environment's SSM history"
                 if history_in_aws else "history: the environment's SSM history was deleted "
                 f"with it; this run's entry is in the local copy {local_history}")
    deleted = [f"{steps[s].kind.replace('_', ' ')} {steps[s].name or steps[s].id} "
               f"({steps[s].id})" for s in sorted(walked.succeeded) if s in steps]
    return TeardownResult(plan.environment, plan.project, deleted=deleted, kept=kept,
                          failed=dict(walked.failed), snapshots=sorted(snapshots),
                          remaining=remaining, interrupted=walked.interrupted,
                          not_done=sorted(walked.skipped | walked.not_started), notes=notes,
                          pruned=pruned)


def _prune_final_snapshots(session: Session, plan: TeardownPlan, made: list[str],
                           succeeded: set[str]) -> list[str]:
    """`[database] keep_final_snapshots = N`: the older final snapshots beyond N go.

    Only once this run's own snapshot (if one was wanted) is safely taken.
    """
    from argos_cloud.kinds.volume import beyond_retention, delete_snapshots, final_snapshots

    keep = session.spec.database.keep_final_snapshots
    if keep is None or (SNAPSHOT_STEP in plan.graph.steps and SNAPSHOT_STEP not in succeeded):
        return []
    old = beyond_retention(final_snapshots(session.clients, session.scope), keep, tuple(made))
    return delete_snapshots(session.clients, [str(s["SnapshotId"]) for s in old])
