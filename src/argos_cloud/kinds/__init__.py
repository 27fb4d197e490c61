"""One module per resource kind, all of one shape (`KindModule`, kinds/base.py)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argos_cloud.kinds.base import KindModule

# Discovery order; also the order kinds appear in plans and status.
KIND_NAMES = (
    "image", "bucket", "iam_role", "instance_profile", "parameter", "key_pair",
    "security_group", "volume", "instance", "target_group", "load_balancer", "listener",
    "bundle", "launch_template", "auto_scaling_group", "scaling_policy",
)


def kind_module(name: str) -> KindModule:
    """The module for a kind (imported on first use: boto3 stays out of --help)."""
    if name not in KIND_NAMES:
        raise KeyError(f"unknown resource kind {name!r}")
    return registry()[name]


@functools.cache
def registry() -> dict[str, KindModule]:
    """Every kind by name; typed, so mypy checks each module against `KindModule`."""
    from argos_cloud.kinds import (
        auto_scaling_group,
        bucket,
        bundle,
        iam_role,
        image,
        instance,
        instance_profile,
        key_pair,
        launch_template,
        listener,
        load_balancer,
        parameter,
        scaling_policy,
        security_group,
        target_group,
        volume,
    )

    return {"image": image, "bucket": bucket, "iam_role": iam_role,
            "instance_profile": instance_profile, "parameter": parameter,
            "key_pair": key_pair, "security_group": security_group, "volume": volume,
            "instance": instance, "target_group": target_group,
            "load_balancer": load_balancer, "listener": listener, "bundle": bundle,
            "launch_template": launch_template, "auto_scaling_group": auto_scaling_group,
            "scaling_policy": scaling_policy}
