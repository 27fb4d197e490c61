"""The one place that reads and nudges moto's models (its internals: keep the pin).

Everything here runs under the server's request lock, because moto is not
thread-safe. What comes out are plain values the rest of the hosts sandbox
uses without knowing moto.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

ACCOUNT = "123456789012"
GONE = ("shutting-down", "terminated", "stopping", "stopped")
STATE_CODES = {"pending": 0, "running": 16}


@dataclass(frozen=True)
class InstanceView:
    instance_id: str
    region: str
    state: str
    address: str
    image_id: str
    instance_type: str
    zone: str
    user_data: bytes
    group_ids: tuple[str, ...]
    role: str | None
    role_tag: str


@dataclass(frozen=True)
class PermissionView:
    protocol: str
    from_port: int | None
    to_port: int | None
    cidrs: tuple[str, ...]
    source_groups: tuple[str, ...]


@dataclass(frozen=True)
class AttachmentView:
    volume_id: str
    instance_id: str
    device: str
    size: int
    snapshot_id: str | None


def _regions(backends: Any) -> Iterator[tuple[str, Any]]:
    """The regions a service's backend was made for (never creating one)."""
    yield from dict.items(backends[ACCOUNT])


def _ec2() -> Iterator[tuple[str, Any]]:
    from moto.ec2.models import ec2_backends

    return _regions(ec2_backends)


def instances() -> list[InstanceView]:
    found = []
    for region, backend in _ec2():
        for reservation in backend.reservations.values():
            for inst in reservation.instances:
                if not inst.private_ip_address:
                    continue
                found.append(InstanceView(
                    inst.id, region, inst._state.name, inst.private_ip_address,
                    inst.image_id, inst.instance_type, inst.placement or region + "a",
                    _user_data(inst.user_data), tuple(g.id for g in inst.security_groups),
                    _role(inst, region),
                    inst.ec2_backend.tags.get(inst.id, {}).get("argos-cloud:role", "")))
    return found


def _user_data(raw: Any) -> bytes:
    if raw is None:
        return b""
    if isinstance(raw, list):
        raw = raw[0] if raw else None
        if raw is None:
            return b""
    text = str(raw)
    with contextlib.suppress(ValueError):
        return base64.b64decode(text, validate=True)
    return text.encode()


def _role(inst: Any, region: str) -> str | None:
    """The instance profile's role; for Auto Scaling members, from the launch template.

    moto does not give an Auto Scaling member its template's profile; EC2 does.
    """
    profile = _profile_name(getattr(inst, "iam_instance_profile", None))
    if profile is None:
        profile = _template_profile(inst, region)
    if profile is None:
        return None
    from moto.iam.models import iam_backends

    iam = iam_backends[ACCOUNT]["global"]
    for candidate in iam.instance_profiles.values():
        if candidate.name == profile or candidate.arn == profile:
            return str(candidate.roles[0].name) if candidate.roles else None
    return None


def _profile_name(raw: Any) -> str | None:
    if not raw:
        return None
    if isinstance(raw, dict):
        name = raw.get("Name") or raw.get("Arn") or raw.get("arn")
        if isinstance(name, str) and ":instance-profile/" in name:
            return name.rsplit("/", 1)[-1]
        return str(name) if name else None
    return str(raw)


def _template_profile(inst: Any, region: str) -> str | None:
    tags = inst.ec2_backend.tags.get(inst.id, {})
    group_name = tags.get("aws:autoscaling:groupName")
    if not group_name:
        return None
    from moto.autoscaling.models import autoscaling_backends

    with contextlib.suppress(KeyError, AttributeError, IndexError):
        group = autoscaling_backends[ACCOUNT][region].autoscaling_groups[group_name]
        template = group.ec2_launch_template
        if template is None:
            return None
        version = template.get_version(group.launch_template_version)
        return _profile_name(version.data.get("IamInstanceProfile"))
    return None


def set_instance_state(instance_id: str, name: str) -> None:
    from moto.ec2.models.instances import InstanceState

    for _, backend in _ec2():
        with contextlib.suppress(Exception):
            inst = backend.get_instance(instance_id)
            if inst._state.name not in GONE:
                inst._state = InstanceState(name, STATE_CODES[name])
            return


def security_groups() -> dict[str, tuple[PermissionView, ...]]:
    found: dict[str, tuple[PermissionView, ...]] = {}
    for _, backend in _ec2():
        for by_vpc in backend.groups.values():
            for group in by_vpc.values():
                found[group.id] = tuple(PermissionView(
                    str(rule.ip_protocol or "-1"), rule.from_port, rule.to_port,
                    tuple(r["CidrIp"] for r in [rule.ip_range] if r and r.get("CidrIp")),
                    tuple(g["GroupId"] for g in [rule.source_group]
                          if g and g.get("GroupId"))) for rule in group.ingress_rules)
    return found


def images() -> dict[str, tuple[str, str | None]]:
    """ami id -> (state, the instance it was made from)."""
    found: dict[str, tuple[str, str | None]] = {}
    for _, backend in _ec2():
        for ami in backend.amis.values():
            found[ami.id] = (ami.state, getattr(ami, "instance_id", None))
    return found


def set_image_state(image_id: str, state: str) -> None:
    for _, backend in _ec2():
        ami = backend.amis.get(image_id)
        if ami is not None:
            ami.state = state


def register_image(region: str, name: str, description: str,
                   tags: dict[str, str]) -> str:
    """The base image, as moto's own AMI record (root on /dev/xvda, EBS-backed)."""
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[ACCOUNT][region]
    for ami in backend.amis.values():
        if ami.name == name:
            return str(ami.id)
    ami = backend.register_image(name=name, description=description)
    ami.root_device_name = "/dev/xvda"
    ami.root_device_type = "ebs"
    ami.architecture = "x86_64"
    ami.virtualization_type = "hvm"
    ami.boot_mode = "uefi-preferred"
    ami.add_tags(tags)
    return str(ami.id)


def attachments() -> list[AttachmentView]:
    found = []
    for _, backend in _ec2():
        for volume in backend.volumes.values():
            attachment = getattr(volume, "attachment", None)
            if attachment is None or attachment.instance is None:
                continue
            root = getattr(attachment.instance, "root_device_name", None) or "/dev/sda1"
            if attachment.device in (root, "/dev/sda1", "/dev/xvda"):
                continue  # the root volume: the machine's own root filesystem (nvme0n1)
            found.append(AttachmentView(volume.id, attachment.instance.id, attachment.device,
                                        int(volume.size), volume.snapshot_id or None))
    return found


def volumes() -> dict[str, str | None]:
    """Every volume that exists -> the snapshot it was made from."""
    return {v.id: (v.snapshot_id or None) for _, b in _ec2() for v in b.volumes.values()}


def snapshots() -> dict[str, tuple[str | None, str]]:
    """snapshot id -> (its volume, its status)."""
    found: dict[str, tuple[str | None, str]] = {}
    for _, backend in _ec2():
        for snap in backend.snapshots.values():
            volume = getattr(snap, "volume", None)
            found[snap.id] = (volume.id if volume is not None else None, snap.status)
    return found


def set_snapshot_status(snapshot_id: str, status: str) -> None:
    for _, backend in _ec2():
        snap = backend.snapshots.get(snapshot_id)
        if snap is not None:
            snap.status = status


def _elbv2() -> Iterator[tuple[str, Any]]:
    from moto.elbv2.models import elbv2_backends

    return _regions(elbv2_backends)


def target_groups() -> list[Any]:
    """Every target group as balancer.GroupView."""
    from argos_cloud.sandbox.hosts.balancer import GroupView

    found = []
    for _, backend in _elbv2():
        for group in backend.target_groups.values():
            matcher = (getattr(group, "matcher", None) or {}).get("HttpCode", "200")
            found.append(GroupView(
                group.arn, int(group.port or 80), str(group.health_check_path or "/"),
                str(group.health_check_port or "traffic-port"),
                float(group.health_check_interval_seconds or 30),
                float(group.health_check_timeout_seconds or 5),
                int(group.healthy_threshold_count or 5),
                int(group.unhealthy_threshold_count or 2), str(matcher),
                tuple((t["Id"], int(t.get("Port") or group.port or 80))
                      for t in group.targets.values()),
                _delay(group)))
    return found


def _delay(group: Any) -> float:
    try:
        return float((group.attributes or {}).get("deregistration_delay.timeout_seconds", 300))
    except (TypeError, ValueError):
        return 300.0


LEAVING = ("EnteringStandby", "Standby", "Terminating", "Terminating:Wait",
           "Terminating:Proceed", "Terminated", "Detaching", "Detached")


def leaving() -> set[str]:
    """Instances an ALB no longer sends to: an Auto Scaling group's members in Standby or
    terminating (AWS deregisters them; moto keeps them registered) and instances gone."""
    from moto.autoscaling.models import autoscaling_backends

    found = {v.instance_id for v in instances() if v.state in GONE}
    for _, backend in _regions(autoscaling_backends):
        for group in backend.autoscaling_groups.values():
            for member in group.instance_states:
                if member.lifecycle_state in LEAVING:
                    found.add(member.instance.id)
    return found


def listeners() -> list[Any]:
    """Every HTTP listener of an application load balancer as balancer.ListenerView."""
    from argos_cloud.sandbox.hosts.balancer import ListenerView

    found = []
    for _, backend in _elbv2():
        for balancer in backend.load_balancers.values():
            for listener in balancer.listeners.values():
                if str(listener.protocol).upper() != "HTTP":
                    continue
                group = None
                for action in listener.default_actions or []:
                    data = getattr(action, "data", action)
                    if data.get("Type") == "forward":
                        group = data.get("TargetGroupArn") or next(
                            (g.get("TargetGroupArn") for g in
                             (data.get("ForwardConfig") or {}).get("TargetGroups", [])), None)
                found.append(ListenerView(listener.arn, balancer.arn, int(listener.port),
                                          group))
    return found


def set_dns_names(ports: dict[str, int]) -> None:
    """A balancer answers on 127.0.0.1:<port>: that is its name on this sandbox."""
    for _, backend in _elbv2():
        for arn, balancer in backend.load_balancers.items():
            if arn in ports:
                balancer.dns_name = f"127.0.0.1:{ports[arn]}"
