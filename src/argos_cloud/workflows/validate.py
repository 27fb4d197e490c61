"""`validate`: every role's highstate rendered and checked by real Salt, offline."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argos_cloud.errors import ConfigError


@dataclass
class ValidateReport:
    tree: str
    results: list[Any]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {"tree": self.tree, "ok": self.ok,
                "roles": [{"role": r.role, "ok": r.ok, "states": r.states,
                           "errors": list(r.errors)} for r in self.results]}


def configured_tree(config: Path) -> Path | None:
    """The config's `salt.state_tree`, if the file exists and names one."""
    if not config.is_file():
        return None
    try:
        raw = tomllib.loads(config.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(config), "", f"not valid TOML: {e}") from None
    value = raw.get("salt", {}).get("state_tree")
    if not value:
        return None
    tree = Path(value)
    tree = tree if tree.is_absolute() else config.resolve().parent / tree
    if not tree.is_dir():
        raise ConfigError(str(config), "salt.state_tree", f"no such folder '{value}'")
    return tree


def run_validate(config: Path, tree: Path | None) -> ValidateReport:
    from argos_cloud.provision.validate import validate_tree

    chosen = tree or configured_tree(config)
    results = validate_tree(chosen)
    return ValidateReport(tree=str(chosen) if chosen else "(packaged default)",
                          results=list(results))
