"""The artifact bucket: versioned, private, encrypted; holds the Salt state tree bundles.

S3 cannot filter by tag: read lists the account's buckets once, keeps those
named for this environment, and checks their tags. S3 cannot tag in the
create call, so the tags go on first thing after it; a bucket an interrupted
run left untagged is adopted by the next create (BucketAlreadyOwnedByYou).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import tolerate
from argos_cloud.aws.retry import made_once
from argos_cloud.errors import AwsError
from argos_cloud.kinds.base import Context, Declared, Teardown, make_way, same_address
from argos_cloud.model.names import TAG_ROLE, Scope, tag_dict, tag_list
from argos_cloud.plan.types import Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "bucket"
DELETE_BATCH = 1000  # delete_objects takes at most 1000 keys
GONE = frozenset({"NoSuchBucket"})
NO_TAGS = frozenset({"NoSuchTagSet", "NoSuchBucket"})
DECLARED = Declared(
    teardown=Teardown(after=("bundle",), last=True),  # holds the bundles
)
match = same_address


def prefix(scope: Scope) -> str:
    """Every bucket name of this environment starts so (see model.desired.bucket_name)."""
    return f"argos-cloud-{scope.project}-{scope.environment}-"


def read(clients: Clients, scope: Scope) -> list[Actual]:
    """One list of buckets; tags and versioning of the few named for this environment."""
    if scope.environment is None:
        return []
    s3 = clients.s3
    names = [b["Name"] for page in s3.get_paginator("list_buckets").paginate()
             for b in page.get("Buckets", []) if str(b["Name"]).startswith(prefix(scope))]
    out: list[Actual] = []
    for name in names:
        untagged = tolerate(*NO_TAGS)
        with untagged:
            tags = tag_dict(s3.get_bucket_tagging(Bucket=name)["TagSet"])
        if untagged:  # not (yet) ours
            continue
        if scope.owns(tags):
            status = s3.get_bucket_versioning(Bucket=name).get("Status")
            out.append(parse(name, tags, status))
    return out


def parse(name: str, tags: Mapping[str, str], versioning_status: str | None) -> Actual:
    return Actual(KIND, tags.get(TAG_ROLE, ""), name, name, dict(tags),
                  {"versioning": versioning_status == "Enabled"})


def diff(want: Resource, have: Actual) -> Change:
    if want.name != have.name:
        return Change.replace(want, have, "bucket name changed", ("name",))
    if bool(want.spec.get("versioning")) != have.attrs.get("versioning"):
        return Change.update(want, have, "versioning differs", ("versioning",))
    return Change.noop(want, have, "bucket exists and is versioned")


def create_request(name: str, region: str) -> dict[str, Any]:
    request: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":  # us-east-1 refuses its own name as a constraint
        request["CreateBucketConfiguration"] = {"LocationConstraint": region}
    return request


def settings_requests(name: str, versioning: bool) -> list[tuple[str, dict[str, Any]]]:
    """(operation, arguments) that make the bucket private, encrypted and versioned."""
    return [
        ("put_public_access_block", {"Bucket": name, "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True}}),
        ("put_bucket_encryption", {"Bucket": name, "ServerSideEncryptionConfiguration": {
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}),
        ("put_bucket_versioning", {"Bucket": name, "VersioningConfiguration": {
            "Status": "Enabled" if versioning else "Suspended"}}),
    ]


def apply(ctx: Context, change: Change) -> str:
    want = change.after
    assert want is not None
    s3 = ctx.clients.s3
    if make_way(ctx, change, delete):
        request = create_request(want.name, ctx.clients.region)

        def create() -> str:
            with tolerate("BucketAlreadyOwnedByYou"):  # an earlier lost answer: adopt it
                s3.create_bucket(**request)
            return want.name

        # tagged only after creation: after a lost answer, ours is the one we may read
        made_once(create, lambda: want.name if _ours(ctx.clients, want.name) else None)
        s3.put_bucket_tagging(Bucket=want.name,
                              Tagging={"TagSet": tag_list(ctx.scope.tags(want.role))})
    for operation, request in settings_requests(want.name, bool(want.spec.get("versioning"))):
        getattr(s3, operation)(**request)
    return want.name


def _ours(clients: Clients, name: str) -> bool:
    """The bucket exists and this account may read it (another's answers 403)."""
    with tolerate("404", "NoSuchBucket", "NotFound", "403", "AccessDenied"):
        clients.s3.head_bucket(Bucket=name)
        return True
    return False


def put_bundle(clients: Clients, bucket: str, key: str, body: bytes) -> str:
    """Upload a state tree bundle; returns its version id (the key if S3 gave none)."""
    reply = clients.s3.put_object(Bucket=bucket, Key=key, Body=body,
                                  ContentType="application/gzip")
    return str(reply.get("VersionId") or key)


def delete(ctx: Context, have: Actual) -> None:
    """Delete every version and delete marker, then the bucket; gone counts as done."""
    s3 = ctx.clients.s3
    with tolerate(*GONE):
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=have.id)
        batch: list[dict[str, str]] = []
        for page in pages:
            for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                batch.append({"Key": item["Key"], "VersionId": item["VersionId"]})
                if len(batch) == DELETE_BATCH:
                    _delete_objects(s3, have.id, batch)
                    batch = []
        if batch:
            _delete_objects(s3, have.id, batch)
        ctx.progress(have.address, "deleting the emptied bucket")
        s3.delete_bucket(Bucket=have.id)


def _delete_objects(s3: Any, bucket: str, objects: list[dict[str, str]]) -> None:
    reply = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    errors = reply.get("Errors") or []
    if errors:
        first = errors[0]
        raise AwsError("s3.DeleteObjects", str(first.get("Code", "")),
                       f"{len(errors)} objects not deleted from {bucket}, e.g. {first.get('Key')}")
