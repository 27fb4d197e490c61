"""One module per resource kind, all of one shape (see kinds/base.py)."""

from __future__ import annotations

import importlib
from types import ModuleType

# Discovery order; also the order kinds appear in plans and status.
KIND_NAMES = (
    "image", "bucket", "iam_role", "instance_profile", "parameter", "key_pair",
    "security_group", "volume", "instance", "target_group", "load_balancer", "listener",
    "bundle", "launch_template", "auto_scaling_group", "scaling_policy",
)


def kind_module(name: str) -> ModuleType:
    """The module for a kind (imported on first use: boto3 stays out of --help)."""
    if name not in KIND_NAMES:
        raise KeyError(f"unknown resource kind {name!r}")
    return importlib.import_module(f"argos_cloud.kinds.{name}")
