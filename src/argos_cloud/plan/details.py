"""What a reviewer needs to see of each change: the attributes that matter, old → new.

Pure: reads a change's desired spec and discovered attributes. A reference to
another resource (`image.image`) is shown as what it will be (`resolve`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from argos_cloud.plan.types import Action, Change, Detail

# kind → (spec key, attrs key) pairs worth showing; the attrs key may be absent.
SHOWN: dict[str, tuple[tuple[str, str], ...]] = {
    "instance": (("instance_type", "instance_type"), ("image_id", "image_id"),
                 ("volume_size", ""), ("user_data_digest", "user_data_digest")),
    "launch_template": (("instance_type", "instance_type"), ("image", "image_id"),
                        ("volume_size", "volume_size"), ("user_data_digest", "user_data_digest"),
                        ("key_name", "key_name")),
    "auto_scaling_group": (("min_size", "min_size"), ("max_size", "max_size"),
                           ("desired", "desired")),
    "volume": (("size", "size"), ("type", "type"), ("zone", "zone"), ("snapshot_id", "")),
    "target_group": (("port", "port"), ("protocol", "protocol"),
                     ("health_path", "health_path")),
    "load_balancer": (("scheme", "scheme"),),
    "listener": (("port", "port"), ("protocol", "protocol")),
    "scaling_policy": (("cpu_target", "cpu_target"),),
    "image": (("base_ami", ""), ("instance_type", "")),
}


def rule_text(rule: Mapping[str, object]) -> str:
    """`tcp 5432 from sg:app`: one ingress rule, as a reviewer reads it."""
    ports = (str(rule["from"]) if rule["from"] == rule["to"]
             else f"{rule['from']}-{rule['to']}")
    return f"{rule['protocol']} {ports} from {rule['source']}"


def _rules(items: Sequence[Mapping[str, object]] | None) -> set[str]:
    return {rule_text(r) for r in items or []}


def details(change: Change, resolve: Callable[[Any], Any] = lambda v: v) -> tuple[Detail, ...]:
    """Create: the values made; update/replace: what changes, old → new; delete: nothing."""
    if change.action is Action.DELETE or change.after is None:
        return ()
    spec = change.after.spec
    have = change.before.attrs if change.before is not None else {}
    out: list[Detail] = []
    if change.kind == "security_group":
        wanted = _rules(spec.get("ingress"))
        if change.action is Action.CREATE:
            return tuple(Detail("ingress", None, r) for r in sorted(wanted))
        had = _rules(have.get("ingress"))
        out += [Detail("ingress", None, r) for r in sorted(wanted - had)]
        out += [Detail("ingress", r, None) for r in sorted(had - wanted)]
        return tuple(out)
    for key, attr in SHOWN.get(change.kind, ()):
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
