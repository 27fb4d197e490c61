"""`check`: what differs from the config, and what is left over (drift and orphans).

Drift is the plan's pending changes, summarised. Orphans are things tagged for the
project that nothing configured owns: another environment's resources whose
environment is gone from the config, bake leftovers, unattached volumes, and final
snapshots beyond `[database] keep_final_snapshots`. Read calls only; exit 4 when
anything is found, like `plan --detailed-exitcode`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from argos_cloud.config.load import load_file
from argos_cloud.discovery import discover
from argos_cloud.kinds import parameter, volume
from argos_cloud.model.names import TAG_ENVIRONMENT
from argos_cloud.plan.types import Change
from argos_cloud.provision.bake import find_bake_leftovers
from argos_cloud.workflows.commission import prepare
from argos_cloud.workflows.decommission import ProjectWide
from argos_cloud.workflows.session import Session

# Kinds read project-wide to find environments the config no longer names.
PROJECT_KINDS = ("security_group", "volume", "instance", "target_group", "load_balancer",
                 "launch_template", "auto_scaling_group")


@dataclass(frozen=True)
class Orphan:
    """Something tagged for the project that nothing configured owns, and why."""

    kind: str
    id: str
    name: str
    why: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "name": self.name, "why": self.why}


@dataclass
class CheckReport:
    project: str
    environment: str
    drift: list[Change]
    orphans: list[Orphan]
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.drift and not self.orphans

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "environment": self.environment,
                "clean": self.clean, "drift": [c.to_json() for c in self.drift],
                "orphans": [o.to_json() for o in self.orphans], "notes": self.notes}


def configured_environments(session: Session) -> set[str]:
    raw = load_file(session.spec.config_path)
    return set(raw.get("environments", {}))


def find_orphans(session: Session) -> list[Orphan]:
    """Every kind of leftover `check` reports; read calls only."""
    clients, spec = session.clients, session.spec
    configured = configured_environments(session)
    project = ProjectWide(spec.project, None)
    out: list[Orphan] = []
    for a in discover(clients, project, PROJECT_KINDS).all():
        env = a.tags.get(TAG_ENVIRONMENT)
        if env and env not in configured:
            out.append(Orphan(a.kind, a.id, a.name, f"tagged for environment '{env}', which "
                              "the config does not name"))
    for env, names in sorted(parameter.environments_with_parameters(clients,
                                                                     spec.project).items()):
        if env not in configured and env != "shared":
            out.append(Orphan("parameter", f"/argos-cloud/{spec.project}/{env}/",
                              f"{len(names)} parameter(s)",
                              f"SSM path of environment '{env}', which the config does not "
                              "name"))
    left = find_bake_leftovers(clients, session.project_scope)
    out += [Orphan("instance", i, "", "image bake leftover (argos-cloud clean removes it)")
            for i in left.instances]
    out += [Orphan("security_group", g, "", "image bake leftover (argos-cloud clean removes "
                   "it)") for g in left.security_groups]
    out += [Orphan("volume", v.id, v.name, f"unattached ({v.attrs.get('size')} GiB, "
                   f"environment '{v.tags.get(TAG_ENVIRONMENT, '-')}')")
            for v in volume.unattached(clients, project)]
    keep = spec.database.keep_final_snapshots
    if keep is not None:
        old = volume.beyond_retention(volume.final_snapshots(clients, session.scope), keep)
        out += [Orphan("snapshot", str(s["SnapshotId"]), "", f"final snapshot beyond "
                       f"keep_final_snapshots = {keep} (taken {s.get('StartTime')})")
                for s in old]
    return out


def check(session: Session) -> CheckReport:
    """The plan's pending changes and the orphans, as one report."""
    plan = prepare(session).plan
    return CheckReport(project=session.spec.project, environment=session.spec.name,
                       drift=list(plan.pending), orphans=find_orphans(session),
                       notes=list(session.notes))
