"""The shared kinds (IAM role, instance profile, parameters, bucket, key pair) on moto."""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from argos_cloud.aws.session import Clients
from argos_cloud.clock import FakeClock
from argos_cloud.config import EnvironmentSpec
from argos_cloud.errors import AwsError, OperationFailed
from argos_cloud.kinds import bucket, iam_role, instance_profile, key_pair, parameter
from argos_cloud.kinds.base import Context, Outputs
from argos_cloud.model.desired import SSM_CORE_POLICY, desired_resources
from argos_cloud.model.facts import Facts
from argos_cloud.model.names import TAG_MANAGED_BY, TAG_ROLE, Scope, tag_dict
from argos_cloud.plan.types import Action, Actual, Change, Resource

pytestmark = pytest.mark.aws

ROLES = ("master", "database", "broker", "app", "worker")


@pytest.fixture(autouse=True)
def _managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto knows AmazonSSMManagedInstanceCore only with this set (read per IAM backend)."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


# --- helpers ---

def public_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode()


def make_spec(tmp_path: Path, deploy_key: bytes = b"-----BEGIN KEY-----\nAAA\n",
              ssh_key: str | None = None) -> EnvironmentSpec:
    (tmp_path / "deploy_key").write_bytes(deploy_key)
    (tmp_path / "id.pub").write_text(ssh_key or public_key())
    return EnvironmentSpec.model_validate({
        "name": "qa", "project": "argos", "image": {"base_ami_id": "ami-12345678"},
        "source": {"repository": "git@example.com:argos.git",
                   "config_template": str(tmp_path / "config.tmpl"),
                   "celery_config_template": str(tmp_path / "celery.tmpl"),
                   "deploy_key": str(tmp_path / "deploy_key")},
        "ssh": {"public_key": str(tmp_path / "id.pub"), "cidrs": ["10.0.0.0/8"]}})


def make_facts(aws: Clients) -> Facts:
    """The account from moto; the network is unused by these kinds, so it is fixed
    (describing moto's default VPC would build its whole EC2 backend: seconds a test)."""
    return Facts(account_id=aws.account_id(), region=aws.region, vpc_id="vpc-0123456789",
                 vpc_cidr="172.31.0.0/16", subnet_ids=("subnet-01", "subnet-02"),
                 availability_zones=("us-east-1a", "us-east-1b"),
                 base_ami_id="ami-12345678", image_digest="0" * 64, emulated=True)


def desired(spec: EnvironmentSpec, facts: Facts) -> dict[str, Resource]:
    user_data = {role: f"#!/bin/sh\necho {role}\n" for role in ROLES}
    return {r.address: r for r in desired_resources(spec, facts, user_data, "0" * 16)}


def make_ctx(aws: Clients, scope: Scope, spec: EnvironmentSpec, facts: Facts) -> Context:
    return Context(clients=aws, scope=scope, spec=spec, facts=facts, outputs=Outputs(),
                   clock=FakeClock())


def found(module: ModuleType, aws: Clients, scope: Scope, address: str) -> Actual | None:
    matches = [a for a in module.read(aws, scope) if a.address == address]
    assert len(matches) <= 1
    return matches[0] if matches else None


def converge(module: ModuleType, ctx: Context, want: Resource) -> Change:
    """What the engine does for one resource: read, diff, apply what is pending."""
    have = found(module, ctx.clients, ctx.scope, want.address)
    change = Change.create(want) if have is None else module.diff(want, have)
    if change.action is not Action.NOOP:
        assert module.apply(ctx, change) == want.name
    return change


@pytest.fixture
def world(aws: Clients, scope: Scope, tmp_path: Path) -> tuple[Context, dict[str, Resource]]:
    spec = make_spec(tmp_path)
    facts = make_facts(aws)
    return make_ctx(aws, scope, spec, facts), desired(spec, facts)


def with_spec(r: Resource, **changes: Any) -> Resource:
    return Resource(r.kind, r.role, r.name, {**r.spec, **changes}, r.needs, r.key)


# --- IAM role ---

def test_inline_policy_reads_only_the_environment_path_and_bucket() -> None:
    policy = iam_role.inline_policy({"parameter_path": "/argos-cloud/argos/qa",
                                     "bucket": "argos-cloud-argos-qa-1"})
    reads = policy["Statement"][0]
    assert reads["Resource"] == ["arn:aws:ssm:*:*:parameter/argos-cloud/argos/qa",
                                 "arn:aws:ssm:*:*:parameter/argos-cloud/argos/qa/*"]
    assert policy["Statement"][1]["Condition"] == {
        "StringLike": {"kms:ViaService": "ssm.*.amazonaws.com"}}
    assert policy["Statement"][2]["Resource"] == ["arn:aws:s3:::argos-cloud-argos-qa-1",
                                                  "arn:aws:s3:::argos-cloud-argos-qa-1/*"]
    assert iam_role._policy_targets(policy) == ("/argos-cloud/argos/qa",
                                               "argos-cloud-argos-qa-1")


def test_role_is_created_read_back_and_then_a_noop(world: Any, scope: Scope) -> None:
    ctx, want = world
    role = want["iam_role.shared"]
    assert converge(iam_role, ctx, role).action is Action.CREATE
    have = found(iam_role, ctx.clients, scope, "iam_role.shared")
    assert have is not None and have.id == "argos-qa-instances"
    assert have.attrs["path"] == "/argos-cloud/argos/qa/"
    assert have.attrs["managed_policies"] == [SSM_CORE_POLICY]
    assert (have.attrs["parameter_path"], have.attrs["bucket"]) == (
        "/argos-cloud/argos/qa", role.spec["bucket"])
    assert have.tags[TAG_MANAGED_BY] == "argos-cloud" and have.tags[TAG_ROLE] == "shared"
    trust = ctx.clients.iam.get_role(RoleName=have.id)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert iam_role.diff(role, have).action is Action.NOOP


def test_a_changed_bucket_or_policy_list_updates_the_role(world: Any, scope: Scope) -> None:
    ctx, want = world
    converge(iam_role, ctx, want["iam_role.shared"])
    moved = with_spec(want["iam_role.shared"], bucket="argos-cloud-argos-qa-other",
                      managed_policies=[])
    change = converge(iam_role, ctx, moved)
    assert (change.action, change.fields) == (Action.UPDATE, ("managed_policies", "bucket"))
    have = found(iam_role, ctx.clients, scope, "iam_role.shared")
    assert have is not None
    assert (have.attrs["bucket"], have.attrs["managed_policies"]) == (
        "argos-cloud-argos-qa-other", [])
    assert iam_role.diff(moved, have).action is Action.NOOP
    assert iam_role.diff(with_spec(moved, path="/x/"), have).action is Action.REPLACE


def test_a_role_made_by_a_lost_answer_is_adopted_and_tagged(world: Any, scope: Scope) -> None:
    ctx, want = world
    role = want["iam_role.shared"]
    ctx.clients.iam.create_role(RoleName=role.name, Path=role.spec["path"],
                                AssumeRolePolicyDocument="{}")
    assert found(iam_role, ctx.clients, scope, "iam_role.shared") is None  # untagged
    iam_role.apply(ctx, Change.create(role))
    have = found(iam_role, ctx.clients, scope, "iam_role.shared")
    assert have is not None and iam_role.diff(role, have).action is Action.NOOP


# --- instance profile ---

def test_profile_holds_the_role_and_records_its_arn(world: Any, scope: Scope) -> None:
    ctx, want = world
    converge(iam_role, ctx, want["iam_role.shared"])
    ctx.outputs.set("iam_role.shared", want["iam_role.shared"].name)
    assert converge(instance_profile, ctx, want["instance_profile.shared"]).action is (
        Action.CREATE)
    have = found(instance_profile, ctx.clients, scope, "instance_profile.shared")
    assert have is not None and have.attrs["roles"] == ["argos-qa-instances"]
    assert have.tags[TAG_ROLE] == "shared"
    assert ctx.outputs.attr("instance_profile.shared", "arn") == have.attrs["arn"]
    assert instance_profile.diff(want["instance_profile.shared"], have).action is Action.NOOP
    # A lost answer: creating again adopts the profile and keeps one role.
    instance_profile.apply(ctx, Change.create(want["instance_profile.shared"]))
    again = found(instance_profile, ctx.clients, scope, "instance_profile.shared")
    assert again is not None and again.attrs["roles"] == ["argos-qa-instances"]


def test_role_and_profile_delete_in_any_order(world: Any, scope: Scope) -> None:
    ctx, want = world
    converge(iam_role, ctx, want["iam_role.shared"])
    ctx.outputs.set("iam_role.shared", want["iam_role.shared"].name)
    converge(instance_profile, ctx, want["instance_profile.shared"])
    role = found(iam_role, ctx.clients, scope, "iam_role.shared")
    assert role is not None
    iam_role.delete(ctx, role)  # still in the profile: removed from it first
    assert found(iam_role, ctx.clients, scope, "iam_role.shared") is None
    profile = found(instance_profile, ctx.clients, scope, "instance_profile.shared")
    assert profile is not None and profile.attrs["roles"] == []
    assert instance_profile.diff(want["instance_profile.shared"], profile).action is (
        Action.UPDATE)
    instance_profile.delete(ctx, profile)
    assert instance_profile.read(ctx.clients, scope) == []
    iam_role.delete(ctx, role)  # gone counts as done
    instance_profile.delete(ctx, profile)


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "Invalid IAM Instance Profile"}},
                       "RunInstances")


def test_iam_propagation_is_waited_out_on_the_clock(world: Any) -> None:
    ctx, _ = world
    answers: list[BaseException | str] = [_client_error("InvalidParameterValue")] * 2 + ["i-1"]

    def launch() -> str:
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    assert instance_profile.retry_iam_propagation(launch, ctx) == "i-1"
    assert len(ctx.clock.slept) == 2

    def refused() -> str:
        raise _client_error("UnauthorizedOperation")

    with pytest.raises(ClientError):
        instance_profile.retry_iam_propagation(refused, ctx)
    assert len(ctx.clock.slept) == 2


# --- parameters ---

def _value(aws: Clients, name: str) -> str:
    return str(aws.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])


def test_generated_secret_is_made_once_and_never_regenerated(world: Any, scope: Scope) -> None:
    ctx, want = world
    secret = want["parameter.shared.database-password"]
    assert converge(parameter, ctx, secret).action is Action.CREATE
    have = found(parameter, ctx.clients, scope, "parameter.shared.database-password")
    assert have is not None and (have.role, have.key, have.attrs["secure"]) == (
        "shared", "database-password", True)
    first = _value(ctx.clients, secret.name)
    assert len(first) >= 40
    assert parameter.diff(secret, have).action is Action.NOOP
    assert parameter.apply(ctx, Change.create(secret)) == secret.name  # a lost answer
    assert _value(ctx.clients, secret.name) == first
    tags = tag_dict(ctx.clients.ssm.list_tags_for_resource(
        ResourceType="Parameter", ResourceId=secret.name)["TagList"])
    assert scope.owns(tags) and tags[TAG_ROLE] == "shared"


def test_records_under_the_path_are_read_as_records(world: Any, scope: Scope) -> None:
    ctx, _ = world
    ssm = ctx.clients.ssm
    ssm.put_parameter(Name=scope.parameter("lock"), Value="x", Type="String")
    ssm.put_parameter(Name=scope.parameter("history/20261125T1042"), Value="x", Type="String")
    ssm.put_parameter(Name="/argos-cloud/argos/qa2/lock", Value="x", Type="String")
    actuals = {a.key: a for a in parameter.read(ctx.clients, scope)}
    assert set(actuals) == {"lock", "history/20261125T1042"}
    assert {a.role for a in actuals.values()} == {"record"}
    parameter.delete(ctx, actuals["lock"])
    parameter.delete(ctx, actuals["lock"])  # gone counts as done
    assert {a.key for a in parameter.read(ctx.clients, scope)} == {"history/20261125T1042"}


def test_a_changed_deploy_key_file_updates_the_parameter(aws: Clients, scope: Scope,
                                                        tmp_path: Path) -> None:
    facts = make_facts(aws)
    spec = make_spec(tmp_path, deploy_key=b"first key\n")
    ctx = make_ctx(aws, scope, spec, facts)
    key = desired(spec, facts)["parameter.shared.deploy-key"]
    converge(parameter, ctx, key)
    assert _value(aws, key.name) == "first key\n"
    have = found(parameter, aws, scope, "parameter.shared.deploy-key")
    assert have is not None and have.attrs["digest"] == key.spec["digest"]
    assert parameter.diff(key, have).action is Action.NOOP

    spec = make_spec(tmp_path, deploy_key=b"second key\n")
    key = desired(spec, facts)["parameter.shared.deploy-key"]
    change = converge(parameter, ctx, key)
    assert (change.action, change.reason) == (Action.UPDATE, "key file changed")
    assert _value(aws, key.name) == "second key\n"
    have = found(parameter, aws, scope, "parameter.shared.deploy-key")
    assert have is not None and parameter.diff(key, have).action is Action.NOOP
    tags = tag_dict(aws.ssm.list_tags_for_resource(
        ResourceType="Parameter", ResourceId=key.name)["TagList"])
    assert scope.owns(tags)


def test_a_failed_put_never_shows_the_value(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx, want = world
    key = want["parameter.shared.deploy-key"]
    seen: list[str] = []

    def failing_put(**request: Any) -> None:
        seen.append(request["Value"])  # an error message that echoes the request
        raise ClientError({"Error": {"Code": "InternalServerError",
                                     "Message": f"bad value {request['Value']}"}},
                          "PutParameter")

    monkeypatch.setattr(ctx.clients.ssm, "put_parameter", failing_put)
    with pytest.raises(AwsError) as caught:
        parameter.apply(ctx, Change.create(key))
    shown = "".join(traceback.format_exception(caught.value))
    assert seen and seen[0] not in shown and "InternalServerError" in shown


def test_put_request_tags_only_a_create(world: Any, scope: Scope) -> None:
    _, want = world
    key = want["parameter.shared.deploy-key"]
    create = parameter.put_request(key, scope, value="v", digest="ab", overwrite=False)
    assert (create["Type"], create["Description"], create["Overwrite"]) == (
        "SecureString", "sha256:ab", False)
    assert scope.owns(tag_dict(create["Tags"]))
    assert "Tags" not in parameter.put_request(key, scope, value="v", digest="ab",
                                               overwrite=True)


# --- bucket ---

def test_bucket_is_private_encrypted_versioned_and_tagged(world: Any, scope: Scope) -> None:
    ctx, want = world
    want_bucket = want["bucket.shared"]
    assert converge(bucket, ctx, want_bucket).action is Action.CREATE
    have = found(bucket, ctx.clients, scope, "bucket.shared")
    assert have is not None and have.id == f"argos-cloud-argos-qa-{ctx.facts.account_id}"
    assert have.attrs["versioning"] is True and have.tags[TAG_ROLE] == "shared"
    assert bucket.diff(want_bucket, have).action is Action.NOOP
    s3 = ctx.clients.s3
    block = s3.get_public_access_block(Bucket=have.id)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = s3.get_bucket_encryption(Bucket=have.id)["ServerSideEncryptionConfiguration"]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    bucket.apply(ctx, Change.create(want_bucket))  # a lost answer: adopted, not doubled
    assert [a.id for a in bucket.read(ctx.clients, scope)] == [have.id]
    assert bucket.diff(want_bucket, Actual("bucket", "shared", have.id, have.id, {}, {
        "versioning": False})).action is Action.UPDATE


def test_bucket_read_ignores_untagged_and_other_environments(world: Any, scope: Scope) -> None:
    ctx, _ = world
    s3 = ctx.clients.s3
    s3.create_bucket(Bucket="argos-cloud-argos-qa-untagged")
    s3.create_bucket(Bucket="argos-cloud-argos-qa-other-1")
    s3.put_bucket_tagging(Bucket="argos-cloud-argos-qa-other-1", Tagging={"TagSet": [
        {"Key": k, "Value": v} for k, v in Scope("argos", "qa-other").tags("shared").items()]})
    assert bucket.read(ctx.clients, scope) == []


def test_bucket_create_request_names_the_region() -> None:
    assert bucket.create_request("b", "us-east-1") == {"Bucket": "b"}
    assert bucket.create_request("b", "eu-west-1") == {
        "Bucket": "b", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}


def test_bucket_delete_removes_every_version(world: Any, scope: Scope) -> None:
    ctx, want = world
    converge(bucket, ctx, want["bucket.shared"])
    name = want["bucket.shared"].name
    first = bucket.put_bundle(ctx.clients, name, "bundles/a.tar.gz", b"one")
    second = bucket.put_bundle(ctx.clients, name, "bundles/a.tar.gz", b"two")
    assert first != second
    ctx.clients.s3.delete_object(Bucket=name, Key="bundles/a.tar.gz")  # a delete marker
    have = found(bucket, ctx.clients, scope, "bucket.shared")
    assert have is not None
    bucket.delete(ctx, have)
    assert bucket.read(ctx.clients, scope) == []
    assert name not in [b["Name"] for b in ctx.clients.s3.list_buckets()["Buckets"]]
    bucket.delete(ctx, have)  # gone counts as done


# --- key pair ---

def test_key_pair_is_imported_tagged_and_replaced_on_a_new_key(aws: Clients, scope: Scope,
                                                               tmp_path: Path) -> None:
    facts = make_facts(aws)
    spec = make_spec(tmp_path)
    ctx = make_ctx(aws, scope, spec, facts)
    key = desired(spec, facts)["key_pair.shared"]
    assert converge(key_pair, ctx, key).action is Action.CREATE
    have = found(key_pair, aws, scope, "key_pair.shared")
    assert have is not None and have.id == "argos-qa-ssh"
    assert have.attrs["digest"] == key.spec["digest"] and scope.owns(dict(have.tags))
    assert key_pair.diff(key, have).action is Action.NOOP
    assert key_pair.apply(ctx, Change.create(key)) == key.name  # a lost answer: adopted

    other = desired(make_spec(tmp_path, ssh_key=public_key()), facts)["key_pair.shared"]
    change = converge(key_pair, ctx, other)
    assert (change.action, change.fields) == (Action.REPLACE, ("digest",))
    have = found(key_pair, aws, scope, "key_pair.shared")
    assert have is not None and have.attrs["digest"] == other.spec["digest"]
    key_pair.delete(ctx, have)
    assert key_pair.read(aws, scope) == []
    key_pair.delete(ctx, have)


def test_a_foreign_key_pair_of_the_same_name_is_not_adopted(world: Any) -> None:
    ctx, want = world
    key = want["key_pair.shared"]
    ctx.clients.ec2.import_key_pair(KeyName=key.name, PublicKeyMaterial=public_key().encode())
    with pytest.raises(OperationFailed, match="not imported by argos-cloud"):
        key_pair.apply(ctx, Change.create(key))


def test_trust_policy_is_ec2_only() -> None:
    assert json.loads(json.dumps(iam_role.ASSUME_ROLE_POLICY))["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
         "Action": "sts:AssumeRole"}]
