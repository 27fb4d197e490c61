"""Fixes to the emulator's own bugs, applied where we run moto (the sandbox's server, tests).

moto 5.x stores the user data of `CreateLaunchTemplateVersion` undecoded (its
`CreateLaunchTemplate` decodes it), then asserts on the type when an Auto Scaling
group launches from that version: every scale-out after a template update fails
with HTTP 500. AWS has no such bug; the image roll scales out from new versions.
"""

from __future__ import annotations

from typing import Any


def apply() -> None:
    """Idempotent: decode a new version's user data as moto does for a new template."""
    from moto.ec2.responses.launch_templates import LaunchTemplates
    from moto.ec2.utils import parse_user_data

    original = LaunchTemplates.create_launch_template_version
    if getattr(original, "_argos_fixed", False):
        return

    def create_launch_template_version(self: Any) -> Any:
        raw = self._get_param("LaunchTemplateData.UserData")
        if raw is None:
            return original(self)
        get_param = self._get_param

        def patched(name: str, *args: Any, **kwargs: Any) -> Any:
            value = get_param(name, *args, **kwargs)
            if name == "LaunchTemplateData" and isinstance(value, dict):
                value["UserData"] = parse_user_data(raw)
            return value

        self._get_param = patched
        try:
            return original(self)
        finally:
            del self._get_param

    create_launch_template_version._argos_fixed = True  # type: ignore[attr-defined]
    LaunchTemplates.create_launch_template_version = create_launch_template_version  # type: ignore[method-assign]
