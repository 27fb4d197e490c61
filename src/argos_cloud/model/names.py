"""Names and tags of DESIGN §3: the source of truth for discovery."""

from __future__ import annotations

from dataclasses import dataclass

TAG_PROJECT = "argos-cloud:project"
TAG_ENVIRONMENT = "argos-cloud:environment"
TAG_ROLE = "argos-cloud:role"
TAG_MANAGED_BY = "argos-cloud:managed-by"
TAG_BAKE = "argos-cloud:bake"            # the image hash on every bake resource
TAG_TOKEN = "argos-cloud:token"        # set at creation: a lost answer is found by it
TAG_USER_DATA = "argos-cloud:user-data"  # its digest: EC2 gives no batch read of user data
MANAGED_BY = "argos-cloud"

IMAGE_ROLE = "image"
RECORD_ROLE = "record"  # the lock, history, bundle and deploy records


@dataclass(frozen=True)
class Scope:
    """What one run may see and touch: a project, and an environment within it."""

    project: str
    environment: str | None  # None: the project's shared resources (the image)

    def name(self, role: str) -> str:
        """`<project>-<env>-<role>`, or `<project>-<role>` for shared resources."""
        if self.environment is None:
            return f"{self.project}-{role}"
        return f"{self.project}-{self.environment}-{role}"

    def tags(self, role: str, **extra: str) -> dict[str, str]:
        tags = {
            TAG_PROJECT: self.project,
            TAG_ROLE: role,
            TAG_MANAGED_BY: MANAGED_BY,
            "Name": self.name(role),
        }
        if self.environment is not None:
            tags[TAG_ENVIRONMENT] = self.environment
        tags.update(extra)
        return tags

    def tag_filters(self) -> list[dict[str, object]]:
        """EC2-style filters that match this scope's resources and nothing else."""
        filters: list[dict[str, object]] = [
            {"Name": f"tag:{TAG_PROJECT}", "Values": [self.project]},
            {"Name": f"tag:{TAG_MANAGED_BY}", "Values": [MANAGED_BY]},
        ]
        if self.environment is not None:
            filters.append({"Name": f"tag:{TAG_ENVIRONMENT}", "Values": [self.environment]})
        return filters

    def owns(self, tags: dict[str, str]) -> bool:
        """True when a resource's tags place it in this scope (exactly)."""
        if tags.get(TAG_PROJECT) != self.project or tags.get(TAG_MANAGED_BY) != MANAGED_BY:
            return False
        return tags.get(TAG_ENVIRONMENT) == self.environment

    @property
    def parameter_path(self) -> str:
        """Where this environment's secrets and records live in SSM."""
        env = self.environment or "shared"
        return f"/argos-cloud/{self.project}/{env}"

    def parameter(self, leaf: str) -> str:
        return f"{self.parameter_path}/{leaf}"


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """AWS's `[{"Key": …, "Value": …}]` spelling."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}


def tag_specifications(tags: dict[str, str], *resource_types: str) -> list[dict[str, object]]:
    """Tags applied in the create call itself, so nothing exists untagged."""
    return [{"ResourceType": rt, "Tags": tag_list(tags)} for rt in resource_types]
