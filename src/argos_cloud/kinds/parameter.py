"""SSM parameters: the environment's secrets, and the tool's own records beside them.

Ownership is the path: everything under `/argos-cloud/<project>/<env>/` is
ours. Managed secrets are role "shared"; anything else there (the lock, the
history, bundle and deploy records) is role "record", which commission's plan
ignores and decommission deletes. Generated secrets are made once and never
regenerated. No value ever reaches a return value, a log or an error message.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import error_code, tolerate
from argos_cloud.errors import AwsError, BadInput
from argos_cloud.kinds.base import Context, Declared, Teardown, same_address
from argos_cloud.model.names import RECORD_ROLE, Scope, tag_list
from argos_cloud.plan.types import Action, Actual, Change, Resource

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients

KIND = "parameter"
SECRETS = frozenset({"database-password", "secret-key", "broker-password", "deploy-key"})
GONE = "ParameterNotFound"
DECLARED = Declared(
    keep_roles=frozenset({RECORD_ROLE}),  # the lock, history and deploy records
    teardown=Teardown(last=True),  # secrets: a failed teardown still needs them
)
match = same_address


def read(clients: Clients, scope: Scope) -> list[Actual]:
    """One paginated describe of the environment's path (values are never read)."""
    root = scope.parameter_path
    pages = clients.ssm.get_paginator("describe_parameters").paginate(ParameterFilters=[
        {"Key": "Path", "Option": "Recursive", "Values": [root]}])
    return [parse(raw, scope) for page in pages for raw in page["Parameters"]
            if str(raw["Name"]).startswith(root + "/")]


def parse(raw: Mapping[str, Any], scope: Scope) -> Actual:
    name = str(raw["Name"])
    leaf = name[len(scope.parameter_path) + 1:]
    role = "shared" if leaf in SECRETS else RECORD_ROLE
    description = str(raw.get("Description") or "")
    digest = description.removeprefix("sha256:") if description.startswith("sha256:") else None
    # Tags are not fetched (SSM would need one call per parameter): the path is the owner.
    return Actual(KIND, role, name, name, scope.tags(role),
                  {"secure": raw.get("Type") == "SecureString", "digest": digest,
                   "version": raw.get("Version")}, key=leaf)


def diff(want: Resource, have: Actual) -> Change:
    if want.spec.get("generate"):
        if want.spec.get("secure") and not have.attrs.get("secure"):
            return Change.update(want, have, "stored as plain text; to be a SecureString",
                                 ("secure",))
        return Change.noop(want, have, "exists; generated once, never regenerated")
    if have.attrs.get("digest") != want.spec.get("digest"):
        return Change.update(want, have, "key file changed", ("digest",))
    if want.spec.get("secure") and not have.attrs.get("secure"):
        return Change.update(want, have, "stored as plain text; to be a SecureString",
                             ("secure",))
    return Change.noop(want, have, "exists and matches its file")


def file_digest(data: bytes) -> str:
    """The same digest the model puts in the spec (sha256, 16 hex digits)."""
    return hashlib.sha256(data).hexdigest()[:16]


def put_request(want: Resource, scope: Scope, *, value: str, digest: str | None,
                overwrite: bool) -> dict[str, Any]:
    """The put_parameter call; tags only on a create (SSM refuses them with Overwrite)."""
    request: dict[str, Any] = {
        "Name": want.name, "Value": value, "Overwrite": overwrite,
        "Type": "SecureString" if want.spec.get("secure", True) else "String"}
    if digest is not None:
        request["Description"] = f"sha256:{digest}"
    if not overwrite:
        request["Tags"] = tag_list(scope.tags(want.role))
    return request


def apply(ctx: Context, change: Change) -> str:
    want = change.after
    assert want is not None
    if want.spec.get("generate"):
        if change.action is Action.CREATE:
            ctx.progress(change.address, "generating")
            _put(ctx, want, secrets.token_urlsafe(32), None, overwrite=False)
        else:  # a plain String become SecureString: same value, never a new one
            _put(ctx, want, _current(ctx, want.name), None, overwrite=True)
        return want.name
    data = _read_file(want)
    digest = file_digest(data)
    value = data.decode("utf-8")
    if change.action is Action.CREATE and _put(ctx, want, value, digest, overwrite=False):
        return want.name
    # Update, replace, or a create that found it there already: re-put, tag separately.
    _put(ctx, want, value, digest, overwrite=True)
    ctx.clients.ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=want.name,
                                         Tags=tag_list(ctx.scope.tags(want.role)))
    return want.name


def _read_file(want: Resource) -> bytes:
    path = Path(str(want.spec["from_file"]))
    try:
        return path.read_bytes()
    except OSError as e:
        raise BadInput(f"cannot read {want.key or want.name} file {path}: "
                       f"{e.strerror or type(e).__name__}") from None


def _put(ctx: Context, want: Resource, value: str, digest: str | None, *,
         overwrite: bool) -> bool:
    """True when stored; False when `overwrite` is off and it exists (adopted as is).

    Any failure is re-raised without the request, so the value cannot leak into it.
    """
    request = put_request(want, ctx.scope, value=value, digest=digest, overwrite=overwrite)
    exists = tolerate("ParameterAlreadyExists")  # only ever said without overwrite
    try:
        with exists:
            ctx.clients.ssm.put_parameter(**request)
    except Exception as e:
        raise AwsError("ssm.PutParameter", error_code(e) or type(e).__name__,
                       f"could not store {want.name}") from None
    return not exists


def _current(ctx: Context, name: str) -> str:
    try:
        reply = ctx.clients.ssm.get_parameter(Name=name, WithDecryption=True)
    except Exception as e:
        raise AwsError("ssm.GetParameter", error_code(e) or type(e).__name__,
                       f"could not read {name}") from None
    return str(reply["Parameter"]["Value"])


def delete(ctx: Context, have: Actual) -> None:
    """Delete it; already gone counts as done."""
    with tolerate(GONE):
        ctx.clients.ssm.delete_parameter(Name=have.id)


def environments_with_parameters(clients: Clients, project: str) -> dict[str, list[str]]:
    """Environment name → its parameter names, for every environment of the project in SSM.

    One paginated describe under `/argos-cloud/<project>/` (the orphan report of `check`).
    """
    root = f"/argos-cloud/{project}"
    pages = clients.ssm.get_paginator("describe_parameters").paginate(ParameterFilters=[
        {"Key": "Path", "Option": "Recursive", "Values": [root]}])
    out: dict[str, list[str]] = {}
    for page in pages:
        for raw in page["Parameters"]:
            name = str(raw["Name"])
            env = name[len(root) + 1:].split("/", 1)[0]
            if name.startswith(root + "/") and env:
                out.setdefault(env, []).append(name)
    return out
