"""The project's baked image: shared by all its environments, named by its digest.

The digest hashes (base AMI, image states), so a change to either bakes a new
image; older images stay until `clean` (or `decommission --delete-image`)
removes them. Creating one is the bake, which the workflow injects (`Context.bake`):
kinds never import `provision/`.

One rule says which existing image a wanted one is (`match`): the planner, the
commission's outputs and its lost-answer check all use it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import unless_gone
from argos_cloud.clock import Clock
from argos_cloud.errors import OperationFailed
from argos_cloud.kinds.base import Context, Declared, Teardown
from argos_cloud.model.names import IMAGE_ROLE, TAG_BAKE, TAG_ROLE, Scope, tag_dict
from argos_cloud.plan.details import Shown
from argos_cloud.plan.types import Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "image"
DECLARED = Declared(
    keep_roles=frozenset({IMAGE_ROLE}),  # old bakes stay for `clean`
    shown=(Shown("base_ami"), Shown("instance_type")),
    teardown=Teardown(after=("auto_scaling_group", "launch_template"), shared=True),
)


def shared_scope(scope: Scope) -> Scope:
    """Images belong to the project, not to one environment."""
    return Scope(scope.project, None)


def image_filters(scope: Scope) -> list[dict[str, object]]:
    return [*shared_scope(scope).tag_filters(),
            {"Name": f"tag:{TAG_ROLE}", "Values": [IMAGE_ROLE]}]


def read(clients: Clients, scope: Scope) -> list[Actual]:
    """The project's images (one paginated describe), newest first."""
    shared = shared_scope(scope)
    pages = clients.ec2.get_paginator("describe_images").paginate(
        Owners=["self"], Filters=image_filters(scope))
    raws = [i for page in pages for i in page["Images"] if shared.owns(tag_dict(i.get("Tags")))]
    raws.sort(key=lambda i: str(i.get("CreationDate", "")), reverse=True)
    return [parse(i) for i in raws]


def parse(raw: Mapping[str, Any]) -> Actual:
    tags = tag_dict(raw.get("Tags"))
    snapshots = sorted(m["Ebs"]["SnapshotId"] for m in raw.get("BlockDeviceMappings", [])
                       if m.get("Ebs", {}).get("SnapshotId"))
    return Actual(KIND, tags.get(TAG_ROLE, IMAGE_ROLE), raw["ImageId"], raw.get("Name", ""),
                  tags, {"name": raw.get("Name"), "state": raw.get("State"),
                         "digest": tags.get(TAG_BAKE), "snapshots": snapshots,
                         "created": raw.get("CreationDate"),
                         "root_device_name": raw.get("RootDeviceName")})


def is_wanted(want: Resource, have: Actual) -> bool:
    """The same bake: its digest (or, untagged, its name) matches."""
    digest = have.attrs.get("digest")
    return digest == want.spec["digest"] if digest else have.name == want.name


def match(want: Resource, haves: Sequence[Actual]) -> list[Actual]:
    """Of the project's images, the one `want` is about, available first; never a twin
    to delete (several digests coexist until `clean`)."""
    wanted = [h for h in haves if is_wanted(want, h)]
    available = [h for h in wanted if h.attrs.get("state") == "available"]
    best = available or wanted
    return best[:1]


def diff(want: Resource, have: Actual) -> Change:
    if is_wanted(want, have) and have.attrs.get("state") == "available":
        return Change.noop(want, have, "image for this base AMI and image states exists")
    if is_wanted(want, have):
        return Change.create(want, f"image {have.id} of this bake is {have.attrs.get('state')}; "
                             "baking again")
    return Change.create(want, "base AMI or image states changed: a new image is baked "
                         f"({have.name} stays until clean)")


def apply(ctx: Context, change: Change) -> str:
    """Bake, by the bake the workflow put in the context."""
    want = change.after
    assert want is not None
    if ctx.bake is None:
        raise OperationFailed(f"{change.address}: no image bake was given to this run")
    image_id = ctx.bake(ctx, want)
    ctx.outputs.set(change.address, image_id, name=want.name, digest=want.spec["digest"])
    return image_id


def deregister(clients: Clients, clock: Clock, image_id: str, snapshots: Sequence[str]) -> None:
    """Deregister, then delete its snapshots (AWS refuses while the image is registered)."""
    from argos_cloud.aws.retry import retry_on

    ec2 = clients.ec2
    unless_gone(ec2.deregister_image, ImageId=image_id)
    for snapshot_id in snapshots:
        retry_on({"InvalidSnapshot.InUse"},
                 functools.partial(unless_gone, ec2.delete_snapshot, SnapshotId=snapshot_id),
                 clock=clock, attempts=8, what=f"delete snapshot {snapshot_id}")


def delete(ctx: Context, have: Actual) -> None:
    deregister(ctx.clients, ctx.clock, have.id, list(have.attrs.get("snapshots") or []))
