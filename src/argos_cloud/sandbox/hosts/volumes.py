"""EBS volumes as loop devices on sparse files, shown inside machines as EC2 shows them.

Nitro instance types (t3, m5, m6i, …) show an attached volume as an NVMe
disk (`/dev/nvme1n1`, with udev's `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol…`
link); Xen types (t2, m4, …) as `/dev/xvdf` for `/dev/sdf`. The sandbox makes
the same names, so the states find their disk as they would on EC2.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from argos_cloud.sandbox.hosts.records import Records
from argos_cloud.sandbox.hosts.system import run

XEN_FAMILIES = frozenset({"t1", "t2", "m1", "m2", "m3", "m4", "c1", "c3", "c4", "r3", "r4",
                          "i2", "d2", "x1", "x1e", "p2", "g2", "g3", "h1", "f1"})
GIB = 1024 ** 3


def is_nitro(instance_type: str) -> bool:
    return instance_type.split(".", 1)[0] not in XEN_FAMILIES


def guest_device(instance_type: str, requested: str, nvme_index: int) -> str:
    """The name the guest sees: NVMe on Nitro, xvdX for sdX on Xen."""
    if is_nitro(instance_type):
        return f"/dev/nvme{nvme_index}n1"
    name = requested.rsplit("/", 1)[-1]
    return "/dev/xvd" + name[2:] if name.startswith("sd") else requested


def by_id_link(volume_id: str) -> str:
    return f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{volume_id.replace('-', '')}"


def ensure_file(store: Path, volume_id: str, size_gib: int, snapshot: Path | None) -> Path:
    """The volume's backing file: a copy of its snapshot, or sparse and empty."""
    path = store / f"{volume_id}.img"
    if path.exists():
        return path
    store.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    if snapshot is not None and snapshot.exists():
        run(["cp", "--sparse=always", str(snapshot), str(tmp)], timeout=1800)
    else:
        with open(tmp, "wb") as handle:
            handle.truncate(size_gib * GIB)
    size = size_gib * GIB
    if tmp.stat().st_size < size:  # a volume made bigger than its snapshot
        with open(tmp, "ab") as handle:
            handle.truncate(size)
    os.replace(tmp, path)
    return path


def snapshot(store: Path, volume_file: Path, snapshot_id: str) -> Path:
    target = store / f"{snapshot_id}.img"
    store.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    run(["cp", "--sparse=always", str(volume_file), str(tmp)], timeout=1800)
    os.replace(tmp, target)
    return target


def attach_loop(records: Records, backing: Path, volume_id: str) -> tuple[str, int, int]:
    """losetup; returns the loop device and its major and minor numbers."""
    device = run(["losetup", "--find", "--show", str(backing)]).stdout.strip()
    records.add("loop", volume_id, device=device)
    stat = os.stat(device)
    return device, os.major(stat.st_rdev), os.minor(stat.st_rdev)


def detach_loop(records: Records, volume_id: str, device: str) -> None:
    run(["losetup", "-d", device], check=False)
    records.drop("loop", volume_id)


def expose(enter: list[str], guest: str, major: int, minor: int, volume_id: str,
           nitro: bool) -> None:
    """Make the block device node (and udev's by-id link) inside the running machine."""
    script = (f"rm -f {guest} && mknod -m 0660 {guest} b {major} {minor} && "
              f"chgrp disk {guest} 2>/dev/null; ")
    if nitro:
        link = by_id_link(volume_id)
        script += f"mkdir -p /dev/disk/by-id && ln -sfn {guest} {link}"
    run([*enter, "sh", "-c", script])


def hide(enter: list[str], guest: str, volume_id: str) -> None:
    run([*enter, "sh", "-c", f"rm -f {guest} {by_id_link(volume_id)}"], check=False)


def remove_file(store: Path, volume_id: str) -> None:
    (store / f"{volume_id}.img").unlink(missing_ok=True)


def free_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
