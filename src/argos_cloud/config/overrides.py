"""Overrides of one run: the seed's `manage.py` flags, and a recorded `scale` of a group.

Both are applied to the file's `EnvironmentSpec` and validated by the same models,
so a bad value is refused as the file's would be, but named by the flag.
Lowest first: the file < a recorded scale (while the file's sizes are those it was
made against) < this run's flags.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from argos_cloud.config.schema import EnvironmentSpec, GroupRole
from argos_cloud.errors import BadInput

SIZES = ("min_size", "max_size", "desired")


@dataclass(frozen=True)
class RunOverrides:
    """`--instance_type`, `--min_size`, `--max_size` (the app group) and `-ssh`: this run only."""

    instance_type: str | None = None
    min_size: int | None = None
    max_size: int | None = None
    ssh: bool = False

    @property
    def empty(self) -> bool:
        return self == RunOverrides()

    def describe(self) -> str:
        bits = [f"--{k} {v}" for k, v in (("instance_type", self.instance_type),
                                          ("min_size", self.min_size),
                                          ("max_size", self.max_size)) if v is not None]
        return " ".join(bits + (["-ssh"] if self.ssh else []))


def group_of(spec: EnvironmentSpec, role: str) -> GroupRole:
    """The app's or the worker's group settings."""
    group = spec.role(role)
    if not isinstance(group, GroupRole):
        raise BadInput(f"{role} is not a group: only app and worker scale")
    return group


def sizes_of(group: GroupRole) -> tuple[int, int, int]:
    """(min_size, max_size, desired)."""
    return group.min_size, group.max_size, group.desired


def with_group(spec: EnvironmentSpec, role: str, *, what: str,
               **changes: object) -> EnvironmentSpec:
    """`spec` with `role`'s group changed, validated by its model; a bad value is BadInput."""
    group = group_of(spec, role)
    try:
        changed = type(group).model_validate({**group.model_dump(), **changes})
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        raise BadInput(f"{what}: {role}{'.' + field if field else ''}: {message}") from None
    return spec.model_copy(update={role: changed})


def apply_run_overrides(spec: EnvironmentSpec, overrides: RunOverrides | None) -> EnvironmentSpec:
    """The app group's type and sizes for this run; `-ssh` refused without `[ssh] cidrs`.

    `desired` is moved into the new range (the seed's flags gave no desired).
    """
    if overrides is None or overrides.empty:
        return spec
    if overrides.ssh and not spec.ssh.cidrs:
        raise BadInput(f"-ssh: {spec.config_path}: ssh.cidrs is empty: SSH opens only from "
                       "the CIDRs the config names, never to the world; add [ssh] cidrs and "
                       "public_key")
    low = spec.app.min_size if overrides.min_size is None else overrides.min_size
    high = spec.app.max_size if overrides.max_size is None else overrides.max_size
    if low > high:
        raise BadInput(f"--min_size {low} is above --max_size {high} (the app group's range: "
                       "give min ≤ max)")
    changes: dict[str, object] = {"min_size": low, "max_size": high,
                                  "desired": min(max(spec.app.desired, low), high)}
    if overrides.instance_type is not None:
        changes["instance_type"] = overrides.instance_type
    return with_group(spec, "app", what=overrides.describe(), **changes)
