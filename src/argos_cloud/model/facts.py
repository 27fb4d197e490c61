"""What the model needs to know about the account that the config cannot say.

Read once per run (account, default VPC and subnets, the base AMI, the image
digest) and passed in, so that the model itself stays pure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Facts:
    account_id: str
    region: str
    vpc_id: str
    vpc_cidr: str
    subnet_ids: tuple[str, ...]
    availability_zones: tuple[str, ...]  # of subnet_ids, in the same order
    base_ami_id: str
    image_digest: str                    # sha256 of (base AMI, image states)
    emulated: bool = False

    @property
    def first_subnet(self) -> str:
        return self.subnet_ids[0]

    @property
    def first_zone(self) -> str:
        return self.availability_zones[0]
