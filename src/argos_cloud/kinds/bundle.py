"""The Salt bundle: state tree + non-secret pillar, content-hashed, in the artifact bucket.

The master's user data waits for the SSM parameter `bundle` and fetches what it
names; a deploy uploads a new bundle and moves the parameter.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import tolerate
from argos_cloud.errors import OperationFailed
from argos_cloud.kinds.base import Context, Declared, Teardown, same_address
from argos_cloud.kinds.bucket import put_bundle
from argos_cloud.model.names import Scope
from argos_cloud.plan.references import Reference
from argos_cloud.plan.types import Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "bundle"
UNKNOWN = "(known after apply)"
DECLARED = Declared(
    references=(Reference("bucket", "bucket"),),
    teardown=Teardown(last=True),  # the master reads it until the end
)
match = same_address


def read(clients: Clients, scope: Scope) -> list[Actual]:
    """The one parameter that names the current bundle."""
    absent = tolerate("ParameterNotFound")
    with absent:
        raw = clients.ssm.get_parameter(Name=scope.parameter("bundle"))["Parameter"]
    if absent:
        return []
    return [parse(raw)]


def parse(raw: dict[str, Any]) -> Actual:
    record = json.loads(raw["Value"])
    return Actual(KIND, "shared", record["key"], record["key"],
                  attrs={"digest": record["digest"], "bucket": record["bucket"],
                         "commit": record.get("commit")})


def diff(want: Resource, have: Actual) -> Change:
    if want.spec["digest"] == UNKNOWN:
        return Change.update(want, have, "its pillar needs addresses known after apply",
                             ("digest",))
    if want.spec["digest"] != have.attrs.get("digest"):
        return Change.update(want, have, "state tree or pillar changed", ("digest",))
    return Change.noop(want, have, "the master's bundle is current")


def apply(ctx: Context, change: Change) -> str:
    """Build (addresses now known), upload, then point the parameter at it."""
    if ctx.bundle_builder is None:
        raise OperationFailed(f"{change.address}: no bundle builder was given to this run")
    body, digest, commit = ctx.bundle_builder(ctx)
    return publish(ctx.clients, ctx.scope, ctx.outputs.id("bucket.shared"), body, digest,
                   commit)


def publish(clients: Clients, scope: Scope, bucket: str, body: bytes, digest: str,
            commit: str | None) -> str:
    key = f"bundles/{digest[:32]}.tar.gz"
    put_bundle(clients, bucket, key, body)  # the bucket encrypts by default
    record = json.dumps({"bucket": bucket, "key": key, "digest": digest, "commit": commit})
    clients.ssm.put_parameter(Name=scope.parameter("bundle"), Value=record, Type="String",
                              Overwrite=True)
    return key


def delete(ctx: Context, have: Actual) -> None:
    with tolerate("ParameterNotFound"):
        ctx.clients.ssm.delete_parameter(Name=ctx.scope.parameter("bundle"))
