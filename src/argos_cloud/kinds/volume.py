"""Data volumes: the database's data lives apart from its instance.

A data volume is never replaced or shrunk automatically: the diff keeps it
and says why. Root volumes carry role tags too, so ours are told apart by the
`argos-cloud:volume` tag, whose value is the model's key (`data`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import tolerate
from argos_cloud.aws.retry import made_once
from argos_cloud.clock import utc_stamp
from argos_cloud.errors import BadInput, OperationFailed
from argos_cloud.kinds.base import Context, Declared, Teardown, client_token, same_address
from argos_cloud.model.names import TAG_ROLE, TAG_TOKEN, Scope, tag_dict, tag_specifications
from argos_cloud.plan.cost import Priced
from argos_cloud.plan.details import Shown
from argos_cloud.plan.types import Action, Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "volume"
TAG_VOLUME = "argos-cloud:volume"
TAG_FINAL_SNAPSHOT = "argos-cloud:final-snapshot"
GONE_STATES = ("deleting", "deleted")
DECLARED = Declared(
    shown=(Shown("size", "size"), Shown("type", "type"), Shown("zone", "zone"),
           Shown("snapshot_id")),
    priced=Priced(volume=True),
    teardown=Teardown(after=("instance",), snapshot_roles=("database",),
                      snapshot=lambda ctx, have, why: final_snapshot(ctx, have, reason=why)),
)
match = same_address


def read(clients: Clients, scope: Scope) -> list[Actual]:
    """One paginated, tag-filtered describe; deleted volumes are not there."""
    pages = clients.ec2.get_paginator("describe_volumes").paginate(Filters=[
        *scope.tag_filters(), {"Name": "tag-key", "Values": [TAG_VOLUME]}])
    return [parse(v) for page in pages for v in page["Volumes"]
            if v.get("State") not in GONE_STATES and scope.owns(tag_dict(v.get("Tags")))]


def parse(raw: Mapping[str, Any]) -> Actual:
    tags = tag_dict(raw.get("Tags"))
    attached = [a for a in raw.get("Attachments", [])
                if a.get("State") in ("attaching", "attached")]
    return Actual(KIND, tags.get(TAG_ROLE, ""), raw["VolumeId"], tags.get("Name", ""), tags, {
        "size": raw.get("Size"), "zone": raw.get("AvailabilityZone"),
        "type": raw.get("VolumeType"), "state": raw.get("State"),
        "encrypted": raw.get("Encrypted"),
        "attached_to": attached[0]["InstanceId"] if attached else None,
        "device": attached[0].get("Device") if attached else None,
    }, key=tags.get(TAG_VOLUME, ""))


def diff(want: Resource, have: Actual) -> Change:
    size, had = int(want.spec["size"]), int(have.attrs.get("size") or 0)
    if have.attrs.get("zone") and want.spec["zone"] != have.attrs["zone"]:
        return Change.noop(want, have, f"volume stays in {have.attrs['zone']} (the model says "
                           f"{want.spec['zone']}); a data volume is never replaced "
                           "automatically")
    if size < had:
        return Change.noop(want, have, f"volumes cannot shrink; keeping {had} GiB")
    if size > had:
        return Change.update(want, have, f"size grows from {had} to {size} GiB", ("size",))
    if want.spec.get("type", "gp3") != have.attrs.get("type"):
        return Change.update(want, have, f"type changes to {want.spec.get('type', 'gp3')}",
                             ("type",))
    return Change.noop(want, have, f"volume exists with {had} GiB")


def volume_tags(scope: Scope, want: Resource) -> dict[str, str]:
    return scope.tags(want.role, Name=want.name, **{TAG_VOLUME: want.key or "data"})


def create_volume_request(want: Resource, scope: Scope, token: str) -> dict[str, Any]:
    request = {"AvailabilityZone": want.spec["zone"], "Size": int(want.spec["size"]),
               "VolumeType": want.spec.get("type", "gp3"), "Encrypted": True,
               "ClientToken": token,
               "TagSpecifications": tag_specifications(volume_tags(scope, want), "volume")}
    if want.spec.get("snapshot_id"):  # commission --restore-snapshot
        request["SnapshotId"] = want.spec["snapshot_id"]
    return request


def snapshot_token(scope: Scope, volume_id: str) -> str:
    """The final snapshot's token: one per volume, so any later run finds it by its tag."""
    return client_token(scope, "snapshot.database", volume_id)[:32]


def snapshot_request(volume_id: str, scope: Scope, role: str, *, reason: str,
                     stamp: str) -> dict[str, Any]:
    tags = scope.tags(role, Name=f"{scope.name(role)}-final-{stamp}",
                      **{TAG_FINAL_SNAPSHOT: stamp,
                         TAG_TOKEN: snapshot_token(scope, volume_id)})
    return {"VolumeId": volume_id, "Description": f"argos-cloud final snapshot: {reason}"[:255],
            "TagSpecifications": tag_specifications(tags, "snapshot")}


def _describe(ctx: Context, volume_id: str) -> dict[str, Any] | None:
    unknown = tolerate("InvalidVolume.NotFound")
    with unknown:
        found = ctx.clients.ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"]
    if unknown:
        return None
    return dict(found[0]) if found else None


def _state(raw: Mapping[str, Any] | None) -> str:
    return str(raw["State"]) if raw else ""


def apply(ctx: Context, change: Change) -> str:
    from argos_cloud.waiting import wait_for

    want = change.after
    assert want is not None
    ec2 = ctx.clients.ec2
    if change.action is Action.UPDATE and change.before is not None:
        ec2.modify_volume(VolumeId=change.before.id, Size=int(want.spec["size"]),
                          VolumeType=want.spec.get("type", "gp3"))
        return change.before.id
    if change.action is Action.REPLACE:
        raise OperationFailed(f"{change.address}: a data volume is never replaced "
                              "automatically; snapshot and delete it by hand")
    token = client_token(ctx.scope, want.address, want.spec)
    reply = ec2.create_volume(**create_volume_request(want, ctx.scope, token))
    if reply.get("State") in GONE_STATES:  # the token named a volume deleted since
        token = client_token(ctx.scope, want.address, {**want.spec, "salt": reply["VolumeId"]})
        reply = ec2.create_volume(**create_volume_request(want, ctx.scope, token))
    volume_id = str(reply["VolumeId"])
    ctx.progress(change.address, f"waiting for {volume_id} to be available")
    wait_for(lambda: _describe(ctx, volume_id), lambda v: _state(v) in ("available", "in-use"),
             failed=lambda v: f"it is {_state(v)}" if _state(v) in ("error", *GONE_STATES)
             else None, clock=ctx.clock, timeout=ctx.timeout, what=f"volume {volume_id}")
    ctx.outputs.set(change.address, volume_id, zone=want.spec["zone"])
    return volume_id


def detach(ctx: Context, volume_id: str) -> None:
    """Detach wherever attached and wait until available (or gone)."""
    from argos_cloud.waiting import wait_for

    raw = _describe(ctx, volume_id)
    if raw is None or _state(raw) != "in-use":
        return
    with tolerate("InvalidVolume.NotFound", "InvalidInstanceID.NotFound",
                  "InvalidAttachment.NotFound", "IncorrectState"):
        for attachment in raw.get("Attachments", []):
            ctx.clients.ec2.detach_volume(VolumeId=volume_id,
                                          InstanceId=attachment["InstanceId"])
    wait_for(lambda: _describe(ctx, volume_id), lambda v: _state(v) in ("available", ""),
             clock=ctx.clock, timeout=ctx.timeout, what=f"volume {volume_id} to detach")


def delete(ctx: Context, have: Actual) -> None:
    """Detach if attached, then delete; gone counts as done."""
    detach(ctx, have.id)
    with tolerate("InvalidVolume.NotFound"):
        ctx.clients.ec2.delete_volume(VolumeId=have.id)


def final_snapshot(ctx: Context, have: Actual, *, reason: str) -> str:
    """Snapshot the volume before decommission deletes it; waits until completed."""
    from argos_cloud.waiting import wait_for

    stamp = utc_stamp()
    ec2 = ctx.clients.ec2
    request = snapshot_request(have.id, ctx.scope, have.role or "database", reason=reason,
                               stamp=stamp)

    def earlier() -> str | None:
        """One an interrupted decommission (or a lost answer) already took of this volume:
        found by the volume and the final-snapshot tag (older ones carry no token)."""
        found = ec2.describe_snapshots(OwnerIds=["self"], Filters=[
            {"Name": "volume-id", "Values": [have.id]},
            {"Name": "tag-key", "Values": [TAG_FINAL_SNAPSHOT]}])["Snapshots"]
        usable = [s for s in found if s.get("State") in ("pending", "completed")]
        return str(max(usable, key=lambda s: str(s.get("StartTime", "")))["SnapshotId"]) \
            if usable else None

    snapshot_id = earlier() or made_once(
        lambda: str(ec2.create_snapshot(**request)["SnapshotId"]), earlier)
    ctx.progress(have.address, f"waiting for final snapshot {snapshot_id}")

    def describe() -> dict[str, Any]:
        return dict(ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0])

    wait_for(describe, lambda s: s["State"] == "completed",
             failed=lambda s: (s.get("StateMessage") or "error") if s["State"] == "error" else None,
             clock=ctx.clock, timeout=ctx.timeout, what=f"snapshot {snapshot_id}")
    return snapshot_id


# -- final snapshots: retention and restore
def _newest_first(snapshots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(snapshots, key=lambda s: (str(s.get("StartTime", "")),
                                            tag_dict(s.get("Tags")).get(TAG_FINAL_SNAPSHOT, ""),
                                            str(s["SnapshotId"])), reverse=True)


def final_snapshots(clients: Clients, scope: Scope) -> list[dict[str, Any]]:
    """The environment's final snapshots, newest first (one tag-filtered describe)."""
    pages = clients.ec2.get_paginator("describe_snapshots").paginate(
        OwnerIds=["self"], Filters=[*scope.tag_filters(),
                                    {"Name": "tag-key", "Values": [TAG_FINAL_SNAPSHOT]}])
    found = [dict(s) for page in pages for s in page["Snapshots"]
             if scope.owns(tag_dict(s.get("Tags"))) and s.get("State") != "error"]
    return _newest_first(found)


def beyond_retention(snapshots: list[dict[str, Any]], keep: int,
                     just_made: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Pure: what retention removes. The snapshots just taken count first, then the newest."""
    fresh = [s for s in snapshots if s["SnapshotId"] in just_made]
    older = [s for s in _newest_first(snapshots) if s["SnapshotId"] not in just_made]
    kept = max(0, keep - len(fresh))
    return older[kept:]


def delete_snapshots(clients: Clients, snapshot_ids: list[str]) -> list[str]:
    """Delete each; gone counts as done. Returns the ids deleted.

    One an image still uses (InvalidSnapshot.InUse) is kept, and not counted as deleted.
    """
    done = []
    for snapshot_id in snapshot_ids:
        answer = tolerate("InvalidSnapshot.NotFound", "InvalidSnapshot.InUse")
        with answer:
            clients.ec2.delete_snapshot(SnapshotId=snapshot_id)
        if answer.caught != "InvalidSnapshot.InUse":
            done.append(snapshot_id)
    return done


def resolve_snapshot(clients: Clients, scope: Scope, ref: str) -> str:
    """`latest` (the environment's newest final snapshot) or a snapshot id that exists."""
    if ref == "latest":
        found = [s for s in final_snapshots(clients, scope) if s.get("State") == "completed"]
        if not found:
            raise BadInput(f"--restore-snapshot latest: {scope.project}/{scope.environment} "
                           "has no final snapshot")
        return str(found[0]["SnapshotId"])
    if not ref.startswith("snap-"):
        raise BadInput(f"--restore-snapshot: '{ref}' is not a snapshot id (snap-…) or 'latest'")
    unknown = tolerate("InvalidSnapshot.NotFound", "InvalidSnapshot.Malformed",
                       "InvalidSnapshotID.Malformed")  # the user's id: said below
    with unknown:
        found = clients.ec2.describe_snapshots(SnapshotIds=[ref])["Snapshots"]
    if unknown:
        found = []
    if not found:
        raise BadInput(f"--restore-snapshot: no snapshot {ref}")
    return ref


def unattached(clients: Clients, scope: Scope) -> list[Actual]:
    """Volumes tagged for the scope that no instance uses (one tag-filtered describe)."""
    pages = clients.ec2.get_paginator("describe_volumes").paginate(Filters=[
        *scope.tag_filters(), {"Name": "status", "Values": ["available"]}])
    return [parse(v) for page in pages for v in page["Volumes"]
            if scope.owns(tag_dict(v.get("Tags")))]
