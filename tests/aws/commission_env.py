"""Helpers for workflow tests: a user's folder and an opened Session on in-process moto."""

from __future__ import annotations

import shutil
from pathlib import Path

from argos_cloud.aws.session import Clients
from argos_cloud.clock import FakeClock
from argos_cloud.config import load_environment
from argos_cloud.workflows.session import Session

ROOT = Path(__file__).resolve().parents[2]


def base_image(clients: Clients) -> str:
    """moto in-process loads no default AMIs here: register one to bake from."""
    ec2 = clients.ec2
    found = ec2.describe_images(Owners=["self"], Filters=[
        {"Name": "name", "Values": ["test-base-*"]}])["Images"]
    if found:
        return str(found[0]["ImageId"])
    reply = ec2.register_image(Name="test-base-ubuntu", RootDeviceName="/dev/sda1",
                               Architecture="x86_64", VirtualizationType="hvm",
                               BlockDeviceMappings=[{"DeviceName": "/dev/sda1",
                                                     "Ebs": {"VolumeSize": 8}}])
    return str(reply["ImageId"])


def user_folder(tmp: Path, ami: str, *, extra: str = "") -> Path:
    shutil.copy(ROOT / "argos-cloud.toml", tmp / "argos-cloud.toml")
    if not (tmp / "deploy").exists():
        shutil.copytree(ROOT / "deploy", tmp / "deploy")
    text = (tmp / "argos-cloud.toml").read_text()
    text = text.replace('# base_ami_id = "ami-0123456789abcdef0"', f'base_ami_id = "{ami}"')
    (tmp / "argos-cloud.toml").write_text(text + extra)
    return tmp / "argos-cloud.toml"


def open_env(clients: Clients, tmp: Path, name: str = "qa", *, extra: str = "",
             clock: FakeClock | None = None) -> Session:
    config = user_folder(tmp, base_image(clients), extra=extra)
    spec = load_environment(config, name, environ={"ARGOS_CLOUD_PROVIDER": "aws"})
    return Session(spec=spec, clients=clients, state_dir=tmp / ".argos-cloud",
                   clock=clock or FakeClock())


def inventory(session: Session) -> dict[str, int]:
    """address → how many exist: what 'the same end state' means in these tests."""
    from argos_cloud.discovery import discover

    out: dict[str, int] = {}
    for a in discover(session.clients, session.scope).all():
        if a.role != "record":
            out[a.address] = out.get(a.address, 0) + 1
    return out
