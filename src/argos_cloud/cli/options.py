"""Each command's flags as a typed value, so a command reads fields instead of casting a dict.

Built from argparse's namespace in `args.parse`; field names are argparse's `dest`s.
Kept free of heavy imports (`--help` starts fast).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar


@dataclass(frozen=True)
class NoOptions:
    """A command without flags of its own (status, check)."""


@dataclass(frozen=True)
class LockOptions:
    """The flags of every command that takes the environment's lock."""

    break_lock: bool = False
    lock_wait: int = 0  # seconds to wait for a live holder
    force: bool = False  # with --yes: break a live holder's lock (clean: also a used image)


@dataclass(frozen=True)
class SeedFlags:
    """The seed's `manage.py` flags: the app group's type and sizes, and SSH, for one run."""

    instance_type: str | None = None
    min_size: int | None = None
    max_size: int | None = None
    ssh: bool = False


@dataclass(frozen=True)
class PlanOptions(SeedFlags):
    restore_snapshot: str | None = None
    detailed_exitcode: bool = False


@dataclass(frozen=True)
class CommissionOptions(LockOptions, SeedFlags):
    parallel: int = 4
    restore_snapshot: str | None = None


@dataclass(frozen=True)
class RollbackOptions(LockOptions):
    roles: tuple[str, ...] = ("app", "worker")
    batch: str = "50%"


@dataclass(frozen=True)
class DeployOptions(RollbackOptions):
    ref: str | None = None  # None: the config's ref


@dataclass(frozen=True)
class DecommissionOptions(LockOptions):
    delete_image: bool = False
    skip_final_snapshot: bool = False


@dataclass(frozen=True)
class CleanOptions(LockOptions):
    """`force` also means: clean while launch templates still use the image."""


@dataclass(frozen=True)
class UnlockOptions:
    force: bool = False


@dataclass(frozen=True)
class HistoryOptions:
    limit: int = 20
    offline: bool = False


@dataclass(frozen=True)
class GraphOptions:
    format: str = "svg"  # svg, png, dot, mermaid
    output_file: Path | None = None


@dataclass(frozen=True)
class ScaleOptions(LockOptions):
    groups: tuple[str, ...] = ()  # app=N, worker=M
    min_size: int | None = None
    max_size: int | None = None


@dataclass(frozen=True)
class ExecOptions:
    role: str = "app"
    instance: str | None = None
    all: bool = False
    timeout: int = 600
    command: tuple[str, ...] = ()


@dataclass(frozen=True)
class LogsOptions:
    role: str | None = None
    instance: str | None = None
    unit: tuple[str, ...] = ()
    since: str | None = None
    lines: int | None = None
    follow: bool = False


@dataclass(frozen=True)
class SandboxOptions:
    action: str = "status"  # start, status, stop, reset
    hosts: bool = False


@dataclass(frozen=True)
class ValidateOptions:
    tree: Path | None = None


CommandOptions = (NoOptions | PlanOptions | CommissionOptions | DeployOptions | RollbackOptions
                  | DecommissionOptions | CleanOptions | UnlockOptions | HistoryOptions
                  | GraphOptions | SandboxOptions | ValidateOptions | ScaleOptions
                  | ExecOptions | LogsOptions)

OPTIONS_OF: dict[str, type[CommandOptions]] = {
    "plan": PlanOptions, "commission": CommissionOptions, "deploy": DeployOptions,
    "rollback": RollbackOptions, "decommission": DecommissionOptions, "clean": CleanOptions,
    "unlock": UnlockOptions, "history": HistoryOptions, "graph": GraphOptions,
    "sandbox": SandboxOptions, "validate": ValidateOptions, "scale": ScaleOptions,
    "exec": ExecOptions, "logs": LogsOptions,
}

OptionsT = TypeVar("OptionsT")


def options_from(command: str, ns: argparse.Namespace) -> CommandOptions:
    """The command's options from argparse's namespace (lists become tuples: values)."""
    cls = OPTIONS_OF.get(command, NoOptions)
    names = {f.name for f in dataclasses.fields(cls)}
    given: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in vars(ns).items()
             if k in names}
    return cls(**given)


def expect(options: object, kind: type[OptionsT]) -> OptionsT:
    """`options` as the command's own type; another type is a programming error."""
    if not isinstance(options, kind):
        raise TypeError(f"expected {kind.__name__}, got {type(options).__name__}")
    return options
