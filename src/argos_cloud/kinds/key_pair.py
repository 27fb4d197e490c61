"""The SSH key pair, imported only when the config opens SSH and gives a public key.

EC2 never returns the key material, so its digest is stored in a tag at
import and compared; another key means a new import (EC2 cannot change it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import tolerate
from argos_cloud.errors import OperationFailed
from argos_cloud.kinds.base import Context, Declared, Teardown, same_address
from argos_cloud.model.names import TAG_ROLE, Scope, tag_dict, tag_specifications
from argos_cloud.plan.types import Action, Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "key_pair"
TAG_DIGEST = "argos-cloud:digest"
GONE = "InvalidKeyPair.NotFound"
DECLARED = Declared(
    teardown=Teardown(after=("instance", "launch_template", "auto_scaling_group")),
)
match = same_address


def read(clients: Clients, scope: Scope) -> list[Actual]:
    """One tag-filtered describe (key pairs are few: EC2 does not paginate them)."""
    raws = clients.ec2.describe_key_pairs(Filters=scope.tag_filters())["KeyPairs"]
    return [parse(k) for k in raws if scope.owns(tag_dict(k.get("Tags")))]


def parse(raw: Mapping[str, Any]) -> Actual:
    tags = tag_dict(raw.get("Tags"))
    return Actual(KIND, tags.get(TAG_ROLE, ""), raw["KeyName"], raw["KeyName"], tags,
                  {"key_pair_id": raw.get("KeyPairId"), "digest": tags.get(TAG_DIGEST),
                   "fingerprint": raw.get("KeyFingerprint"), "type": raw.get("KeyType")})


def diff(want: Resource, have: Actual) -> Change:
    if want.spec["digest"] != have.attrs.get("digest"):
        return Change.replace(want, have, "public key changed", ("digest",))
    return Change.noop(want, have, "key pair exists with this public key")


def tags(want: Resource, scope: Scope) -> dict[str, str]:
    return scope.tags(want.role, **{TAG_DIGEST: str(want.spec["digest"])})


def import_request(want: Resource, scope: Scope) -> dict[str, Any]:
    return {"KeyName": want.name, "PublicKeyMaterial": str(want.spec["public_key"]).encode(),
            "TagSpecifications": tag_specifications(tags(want, scope), "key-pair")}


def apply(ctx: Context, change: Change) -> str:
    want = change.after
    assert want is not None
    if change.action in (Action.REPLACE, Action.UPDATE) and change.before is not None:
        delete(ctx, change.before)
    ec2 = ctx.clients.ec2
    with tolerate("InvalidKeyPair.Duplicate"):
        ec2.import_key_pair(**import_request(want, ctx.scope))
        return want.name
    # Imported (with its tags, in one call) by an interrupted run whose answer was lost:
    # adopt it; a same-named key without our digest is someone else's, left alone.
    found = ec2.describe_key_pairs(KeyNames=[want.name])["KeyPairs"][0]
    if tag_dict(found.get("Tags")).get(TAG_DIGEST) != want.spec["digest"]:
        raise OperationFailed(
            f"a key pair named {want.name} exists and was not imported by argos-cloud "
            "from this public key; delete or rename it, then run commission again")
    return want.name


def delete(ctx: Context, have: Actual) -> None:
    """Delete by name; already gone counts as done (EC2 even says so itself)."""
    with tolerate(GONE):
        ctx.clients.ec2.delete_key_pair(KeyName=have.id)
