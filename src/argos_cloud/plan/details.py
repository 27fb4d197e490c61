"""What a reviewer needs to see of each change: the attributes that matter, old → new.

Pure: reads a change's desired spec and discovered attributes, and what its kind
declares worth showing (`shown`). A reference to another resource (`image.image`)
is shown as what it will be (`resolve`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from argos_cloud.plan.types import Action, Change, Detail


@dataclass(frozen=True)
class Shown:
    """One attribute a kind shows its reviewers (each kind's `shown` declares them).

    `key` is the spec key, `attr` the discovered attribute to compare (empty when
    what exists does not say); `rules` marks a list of ingress rules, shown one
    line per rule added or removed.
    """

    key: str
    attr: str = ""
    rules: bool = False


def rule_text(rule: Mapping[str, object]) -> str:
    """`tcp 5432 from sg:app`: one ingress rule, as a reviewer reads it."""
    ports = (str(rule["from"]) if rule["from"] == rule["to"]
             else f"{rule['from']}-{rule['to']}")
    return f"{rule['protocol']} {ports} from {rule['source']}"


def _rules(items: Sequence[Mapping[str, object]] | None) -> set[str]:
    return {rule_text(r) for r in items or []}


def details(change: Change, shown: Sequence[Shown],
            resolve: Callable[[Any], Any] = lambda v: v) -> tuple[Detail, ...]:
    """Create: the values made; update/replace: what changes, old → new; delete: nothing."""
    if change.action is Action.DELETE or change.after is None:
        return ()
    spec = change.after.spec
    have = change.before.attrs if change.before is not None else {}
    out: list[Detail] = []
    for item in shown:
        if item.rules:
            out += _rule_details(change, spec.get(item.key), have.get(item.attr), item.key)
            continue
        key, attr = item.key, item.attr
        if key not in spec or spec[key] in (None, ""):
            continue
        new = resolve(spec[key])
        if change.action is Action.CREATE:
            out.append(Detail(key, None, new))
        elif change.action in (Action.UPDATE, Action.REPLACE):
            old = have.get(attr) if attr else None
            if attr and old is not None and old != new:
                out.append(Detail(key, old, new))
            elif key in change.fields and old is None:
                out.append(Detail(key, "?", new))
    return tuple(out)


def _rule_details(change: Change, wanted_rules: Any, had_rules: Any,
                  key: str) -> list[Detail]:
    wanted = _rules(wanted_rules)
    if change.action is Action.CREATE:
        return [Detail(key, None, r) for r in sorted(wanted)]
    had = _rules(had_rules)
    return ([Detail(key, None, r) for r in sorted(wanted - had)]
            + [Detail(key, r, None) for r in sorted(had - wanted)])
