"""Facts about the account the model needs: identity, network, base AMI (read only)."""

from __future__ import annotations

import fnmatch
import hashlib
from typing import TYPE_CHECKING, Any

from argos_cloud.aws.errors import as_aws_error, error_code, explain, tolerate
from argos_cloud.config import EnvironmentSpec
from argos_cloud.errors import BadInput, OperationFailed
from argos_cloud.model.facts import Facts

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients


def image_digest(base_ami_id: str, states_digest: str) -> str:
    """The baked image's identity: a change to either bakes a new one."""
    return hashlib.sha256(f"{base_ami_id}\n{states_digest}".encode()).hexdigest()


def resolve_base_ami(clients: Clients, spec: EnvironmentSpec,
                     notes: list[str] | None = None) -> str:
    """An explicit id (checked to exist), or the newest image matching name + owner.

    On the hosts sandbox the base image is the sandbox's own Debian 12, whatever
    the config names: it is the only root filesystem the machines can boot.
    """
    ec2 = clients.ec2
    if clients.hosts:
        return _hosts_base_image(clients, spec, notes)
    if spec.image.base_ami_id:
        unknown = tolerate("InvalidAMIID.NotFound", "InvalidAMIID.Malformed",
                           "InvalidAMIID.Unavailable")  # the config's id: said below
        try:
            with unknown:
                found = ec2.describe_images(ImageIds=[spec.image.base_ami_id])["Images"]
        except Exception as e:
            raise as_aws_error("describe_images", e) from e
        if unknown:
            found = []
        if not found:
            raise BadInput(f"{spec.config_path}: image.base_ami_id: no image "
                           f"'{spec.image.base_ami_id}' in {clients.region}")
        return spec.image.base_ami_id
    owner, pattern = spec.image.base_ami_owner, spec.image.base_ami_name
    assert owner and pattern
    images = ec2.describe_images(Owners=[owner], Filters=[
        {"Name": "name", "Values": [pattern]}, {"Name": "state", "Values": ["available"]},
    ])["Images"]
    if images:
        return str(max(images, key=lambda i: i.get("CreationDate", ""))["ImageId"])
    if clients.emulated:
        return _emulator_image(clients, owner, pattern, notes)
    raise BadInput(f"{spec.config_path}: image.base_ami_name: no image named '{pattern}' "
                   f"owned by {owner} in {clients.region}")


HOSTS_BASE_TAG = "argos-cloud:sandbox-base"


def _hosts_base_image(clients: Clients, spec: EnvironmentSpec, notes: list[str] | None) -> str:
    images = clients.ec2.describe_images(Filters=[
        {"Name": "tag-key", "Values": [HOSTS_BASE_TAG]}])["Images"]
    if not images:
        raise OperationFailed("the hosts sandbox has not registered its base image")
    best = max(images, key=lambda i: i.get("CreationDate", ""))
    if notes is not None:
        named = spec.image.base_ami_id or spec.image.base_ami_name
        notes.append(f"hosts sandbox: the base image '{named}' resolves to "
                     f"{best['ImageId']} ({best.get('Name', '')}), built here")
    return str(best["ImageId"])


def _emulator_image(clients: Clients, owner: str, pattern: str,
                    notes: list[str] | None) -> str:
    """moto ships a few dozen old images; any of the owner's serves as the base."""
    images: list[dict[str, Any]] = clients.ec2.describe_images(Owners=[owner])["Images"]
    if not images:
        images = clients.ec2.describe_images(Owners=["amazon"])["Images"]
    if not images:
        raise OperationFailed("the emulator has no images to use as the base AMI")
    best = max(images, key=lambda i: (fnmatch.fnmatch(i.get("Name", ""), pattern),
                                      i.get("Name", "")))
    if notes is not None:
        notes.append(f"emulator: no image matches '{pattern}'; using the emulator's "
                     f"{best['ImageId']} ({best.get('Name', '')}) as the base AMI")
    return str(best["ImageId"])


def read_network(clients: Clients, spec: EnvironmentSpec) -> tuple[str, str, list[tuple[str, str]]]:
    """(vpc id, its CIDR, [(subnet, zone)]) — the default VPC unless the config names one."""
    ec2 = clients.ec2
    if spec.network.vpc_id:
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "vpc-id",
                                           "Values": [spec.network.vpc_id]}])["Vpcs"]
        if not vpcs:
            raise BadInput(f"{spec.config_path}: network.vpc_id: no VPC "
                           f"'{spec.network.vpc_id}' in {clients.region}")
    else:
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
        if not vpcs:
            raise BadInput(f"{clients.region} has no default VPC: set network.vpc_id and "
                           "network.subnet_ids in the config")
    vpc = vpcs[0]
    filters = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    if spec.network.subnet_ids:
        filters.append({"Name": "subnet-id", "Values": list(spec.network.subnet_ids)})
    subnets = ec2.describe_subnets(Filters=filters)["Subnets"]
    if spec.network.subnet_ids:
        missing = set(spec.network.subnet_ids) - {s["SubnetId"] for s in subnets}
        if missing:
            raise BadInput(f"{spec.config_path}: network.subnet_ids: not in "
                           f"{vpc['VpcId']}: {', '.join(sorted(missing))}")
    if not subnets:
        raise BadInput(f"VPC {vpc['VpcId']} has no subnets")
    pairs = sorted((s["SubnetId"], s["AvailabilityZone"]) for s in subnets)
    pairs.sort(key=lambda p: p[1])
    return vpc["VpcId"], vpc.get("CidrBlock", "10.0.0.0/8"), pairs


def check_instance_types(clients: Clients, spec: EnvironmentSpec) -> None:
    """Every role's instance type is offered in the region: one read, before any write."""
    from argos_cloud.config.schema import ROLES

    wanted = {role: spec.role(role).instance_type for role in ROLES}
    pages = clients.ec2.get_paginator("describe_instance_type_offerings").paginate(
        LocationType="region",
        Filters=[{"Name": "instance-type", "Values": sorted(set(wanted.values()))}])
    offered = {o["InstanceType"] for page in pages for o in page["InstanceTypeOfferings"]}
    for role, kind in wanted.items():
        if kind not in offered:
            raise BadInput(f"{spec.config_path}: {role}.instance_type: '{kind}' is not "
                           f"offered in {clients.region}")


def read_facts(clients: Clients, spec: EnvironmentSpec, states_digest: str,
               notes: list[str] | None = None) -> Facts:
    """Everything the model needs from AWS, in a handful of read calls."""
    try:
        account = clients.account_id()
        vpc_id, cidr, subnets = read_network(clients, spec)
        base = resolve_base_ami(clients, spec, notes)
        check_instance_types(clients, spec)
    except (BadInput, OperationFailed):
        raise
    except Exception as e:
        known = explain(e, clients.endpoint_url, clients.region)
        if known is not None:
            raise known from e
        if error_code(e):
            raise as_aws_error("reading the account's network and images", e) from e
        raise
    return Facts(account_id=account, region=clients.region, vpc_id=vpc_id, vpc_cidr=cidr,
                 subnet_ids=tuple(s for s, _ in subnets),
                 availability_zones=tuple(z for _, z in subnets), base_ami_id=base,
                 image_digest=image_digest(base, states_digest), emulated=clients.emulated)
