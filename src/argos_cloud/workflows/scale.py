"""`scale app=N [worker=M]`: a group's desired capacity now, kept as the environment's.

A scale sets the Auto Scaling group at once and records what it set in SSM
(`/argos-cloud/<project>/<env>/scale`, a record like the deployed commit), with
the config's sizes it was made against. `plan`, `check`, `graph` and `commission`
read that record: while the config's sizes for the group are still those, the
scaled sizes are the environment's (no drift to undo); once the config's sizes
change, the config wins, the record is superseded, and the next commission
forgets it. Decommission deletes it with the other records.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from argos_cloud.config.overrides import group_of, sizes_of, with_group
from argos_cloud.errors import BadInput, Refused
from argos_cloud.workflows.operation import operation

if TYPE_CHECKING:
    from argos_cloud.config import EnvironmentSpec
    from argos_cloud.workflows.session import Session

SCALE_LEAF = "scale"
SCALABLE = ("app", "worker")
LIMIT = 1000  # the config's own bound on a group's sizes


@dataclass(frozen=True)
class Scaled:
    """What one `scale` set for one group, and the config's sizes it was made against."""

    role: str
    min_size: int
    max_size: int
    desired: int
    config: tuple[int, int, int]  # the config's (min_size, max_size, desired) then
    who: str
    at: str

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["config"] = list(self.config)
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Scaled:
        low, high, want = (int(x) for x in raw["config"])
        return cls(role=str(raw["role"]), min_size=int(raw["min_size"]),
                   max_size=int(raw["max_size"]), desired=int(raw["desired"]),
                   config=(low, high, want), who=str(raw["who"]), at=str(raw["at"]))

    def text(self) -> str:
        return (f"{self.role}={self.desired} (range {self.min_size}-{self.max_size}), by "
                f"{self.who} at {self.at}")


@dataclass
class Effective:
    """The spec with the recorded scales applied, and what was said about them."""

    spec: EnvironmentSpec
    applied: dict[str, Scaled] = field(default_factory=dict)
    superseded: dict[str, Scaled] = field(default_factory=dict)

    def notes(self) -> list[str]:
        out = [f"scaled: {s.text()}; the config says {_sizes_text(s.config)}, so the "
               "scaled sizes are kept" for s in self.applied.values()]
        out += [f"scale superseded: the config's {s.role} sizes changed since "
                f"{s.text()}; the config's apply (commission forgets the scale)"
                for s in self.superseded.values()]
        return out


@dataclass(frozen=True)
class ScaleResult:
    environment: str
    changes: tuple[tuple[str, tuple[int, int, int], tuple[int, int, int]], ...]  # role, old, new
    emulated: bool

    def to_json(self) -> dict[str, Any]:
        return {"environment": self.environment, "emulated": self.emulated,
                "groups": [{"role": r, "before": dict(zip(("min_size", "max_size", "desired"),
                                                          old, strict=True)),
                            "after": dict(zip(("min_size", "max_size", "desired"), new,
                                              strict=True))}
                           for r, old, new in self.changes]}


def _sizes_text(sizes: tuple[int, int, int]) -> str:
    return f"{sizes[2]} (range {sizes[0]}-{sizes[1]})"


# -- pure pieces (tested with ==)
def parse_targets(tokens: list[str]) -> dict[str, int]:
    """`app=3 worker=2` → {"app": 3, "worker": 2}; anything else is BadInput."""
    if not tokens:
        raise BadInput("scale: name at least one group: app=N and/or worker=N")
    out: dict[str, int] = {}
    for token in tokens:
        match = re.fullmatch(r"(\w+)=(\d+)", token)
        if match is None or match.group(1) not in SCALABLE:
            raise BadInput(f"scale: '{token}' is not app=N or worker=N")
        role, count = match.group(1), int(match.group(2))
        if role in out:
            raise BadInput(f"scale: {role} is named twice")
        if count > LIMIT:
            raise BadInput(f"scale: {token}: {count} is out of range: give 0 to {LIMIT}")
        out[role] = count
    return out


def new_sizes(role: str, current: tuple[int, int, int], desired: int, *,
              min_size: int | None = None, max_size: int | None = None) -> tuple[int, int, int]:
    """(min, max, desired) after the scale; outside the range only if --min/--max move it."""
    low = current[0] if min_size is None else min_size
    high = current[1] if max_size is None else max_size
    if low > high:
        raise BadInput(f"scale: {role}: --min {low} is above the maximum {high}")
    if not low <= desired <= high:
        flag = f"--max {desired}" if desired > high else f"--min {desired}"
        raise BadInput(f"scale: {role}={desired} is outside the group's range {low}-{high}: "
                       f"give {flag} too to move the range")
    return low, high, desired


def parse_record(text: str | None) -> dict[str, Scaled]:
    """The stored record; an unreadable one counts as none (plan then shows the config)."""
    if not text:
        return {}
    try:
        raw = json.loads(text)
        return {role: Scaled.from_json(entry) for role, entry in raw.items()
                if role in SCALABLE}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def record_text(records: dict[str, Scaled]) -> str:
    return json.dumps({r: s.to_json() for r, s in sorted(records.items())}, sort_keys=True,
                      separators=(",", ":"))


def effective(spec: EnvironmentSpec, records: dict[str, Scaled]) -> Effective:
    """Apply each record whose config sizes are still the config's; the rest are superseded."""
    out = Effective(spec)
    for role, scaled in sorted(records.items()):
        if sizes_of(group_of(spec, role)) != scaled.config:
            out.superseded[role] = scaled
            continue
        out.spec = with_group(out.spec, role, what=f"the recorded scale of {role}",
                              min_size=scaled.min_size, max_size=scaled.max_size,
                              desired=scaled.desired)
        out.applied[role] = scaled
    return out


# -- reading and writing the record
def read_record(session: Session) -> dict[str, Scaled]:
    return parse_record(session.store().get(session.scope.parameter(SCALE_LEAF)))


def effective_spec(session: Session, spec: EnvironmentSpec | None = None) -> Effective:
    """The session's spec (or `spec`, the file's) as the recorded scales leave it."""
    return effective(spec or session.spec, read_record(session))


def forget(session: Session, roles: list[str]) -> None:
    """Drop superseded scales (commission, once the config's sizes are applied)."""
    records = read_record(session)
    kept = {r: s for r, s in records.items() if r not in roles}
    if kept == records:
        return
    name = session.scope.parameter(SCALE_LEAF)
    if kept:
        session.store().put(name, record_text(kept))
    else:
        session.store().delete(name)


# -- the workflow
def scale(session: Session, targets: dict[str, int], *, min_size: int | None = None,
          max_size: int | None = None) -> ScaleResult:
    """Set each named group's desired capacity (and range), record it, journal it."""
    from argos_cloud.engine.lock import iso_utc, who_am_i
    from argos_cloud.kinds import auto_scaling_group

    scope = session.scope
    with operation(session, "scale") as op:
        current: dict[str, tuple[int, int, int]] = {}
        for role in targets:
            group = auto_scaling_group.describe_group(session.clients, scope.name(role))
            if group is None:
                raise Refused(f"{scope.project}/{scope.environment} has no {role} group: run "
                              "commission first")
            current[role] = (int(group["MinSize"]), int(group["MaxSize"]),
                             int(group["DesiredCapacity"]))
        wanted = {role: new_sizes(role, current[role], n, min_size=min_size,
                                  max_size=max_size) for role, n in targets.items()}
        change_text = ", ".join(f"{r} {current[r][2]}→{w[2]} (range {w[0]}-{w[1]})"
                                for r, w in wanted.items())
        op.begin()
        records = read_record(session)
        now, who = iso_utc(session.now()), who_am_i()
        for role, (low, high, want) in wanted.items():
            records[role] = Scaled(role, low, high, want,
                                   sizes_of(group_of(session.spec, role)), who, now)
        # The intent first: if a resize fails, plan shows it still to do, not as drift.
        session.store().put(scope.parameter(SCALE_LEAF), record_text(records),
                            tags=scope.tags("record"))
        for role, (low, high, want) in wanted.items():
            session.on_event(f"{role} group", f"desired {want} (range {low}-{high})")
            auto_scaling_group.resize(session.clients, scope.name(role), low, high, want)
        op.finish("succeeded", detail=change_text)
    return ScaleResult(environment=scope.environment or "",
                       changes=tuple((r, current[r], w) for r, w in wanted.items()),
                       emulated=session.emulated)
