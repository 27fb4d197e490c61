"""One instance = one systemd-nspawn container booted from a copy of its image's root.

The copy (`cp -a`, reflinked where the filesystem can) leaves the image as it
was. Before boot the sandbox writes what EC2 would provide from outside: the
NoCloud seed cloud-init reads (instance id, hostname, the user data), and the
environment's mirrors (the package proxy, the AWS endpoint, the wheelhouse).
`--register=no --keep-unit` because PID 1 of this computer may not be systemd:
no machined to register with, no systemd to ask for a scope.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from argos_cloud.clock import Clock, RealClock
from argos_cloud.errors import OperationFailed
from argos_cloud.processes import process_alive
from argos_cloud.sandbox.hosts.network import ANCHOR_IP
from argos_cloud.sandbox.hosts.records import Records, kill_recorded
from argos_cloud.sandbox.hosts.system import run
from argos_cloud.waiting import wait_until

WHEELS_IN_MACHINE = "/var/cache/argos-sandbox-wheels"
BOOTED = ("running", "degraded")


@dataclass(frozen=True)
class Seed:
    """What EC2 hands an instance, written into its root before boot."""

    instance_id: str
    hostname: str
    address: str
    region: str
    user_data: bytes
    aws_port: int
    proxy_port: int


@dataclass
class Machine:
    instance_id: str
    address: str
    root_dir: Path  # holds rootfs/ and the nspawn log
    netns: str
    nspawn_pid: int = 0
    leader_pid: int = 0

    @property
    def rootfs(self) -> Path:
        return self.root_dir / "rootfs"

    def record(self, records: Records) -> None:
        records.add("machine", self.instance_id, nspawn_pid=self.nspawn_pid,
                    leader_pid=self.leader_pid, rootfs_dir=str(self.root_dir),
                    address=self.address, netns=self.netns)


def copy_root(image_root: Path, target: Path) -> None:
    """A private copy of a root filesystem (an image made from a machine)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(target, ignore_errors=True)
    run(["cp", "-a", "--reflink=auto", str(image_root), str(target)], timeout=1800)


def overlay_root(image_root: Path, machine: Machine) -> None:
    """The machine's root: an overlay whose writes go to its own layer; the image stays as it is."""
    upper, work = machine.root_dir / "upper", machine.root_dir / "work"
    for folder in (upper, work, machine.rootfs):
        folder.mkdir(parents=True, exist_ok=True)
    run(["mount", "-t", "overlay", "overlay", "-o",
         f"lowerdir={image_root},upperdir={upper},workdir={work}", str(machine.rootfs)])


def unmount_root(root_dir: Path) -> None:
    rootfs = root_dir / "rootfs"
    if os.path.ismount(rootfs):
        run(["umount", "--lazy", str(rootfs)], check=False)


def write_seed(rootfs: Path, seed: Seed) -> None:
    """NoCloud seed, hostname, and the sandbox's mirrors (as a VPC's endpoints would be)."""
    nocloud = rootfs / "var/lib/cloud/seed/nocloud"
    nocloud.mkdir(parents=True, exist_ok=True)
    (nocloud / "meta-data").write_text(
        f"instance-id: {seed.instance_id}\nlocal-hostname: {seed.hostname}\n")
    (nocloud / "user-data").write_bytes(seed.user_data or b"#cloud-config\n{}\n")
    (nocloud / "user-data").chmod(0o600)
    (rootfs / "etc/hostname").write_text(seed.hostname + "\n")
    resolv = rootfs / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)  # no resolver: a lookup fails at once, never hangs
    resolv.write_text("# argos-cloud hosts sandbox: no DNS; registries via the proxy\n"
                      "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    (rootfs / "etc/hosts").write_text(
        f"127.0.0.1 localhost\n{seed.address} {seed.hostname}\n"
        "::1 localhost ip6-localhost ip6-loopback\n")
    proxy = f"http://{ANCHOR_IP}:{seed.proxy_port}"
    apt = rootfs / "etc/apt/apt.conf.d/01argos-sandbox-proxy"
    apt.parent.mkdir(parents=True, exist_ok=True)
    apt.write_text(f'Acquire::http::Proxy "{proxy}";\n')
    (rootfs / "etc/pip.conf").write_text(
        "[global]\n"
        f"proxy = {proxy}\n"
        "cert = /etc/ssl/certs/ca-certificates.crt\n"
        f"find-links = {WHEELS_IN_MACHINE}\n")
    endpoint = f"http://{ANCHOR_IP}:{seed.aws_port}"
    aws = rootfs / "root/.aws"
    aws.mkdir(parents=True, exist_ok=True)
    (aws / "config").write_text(
        f"[default]\nregion = {seed.region}\nendpoint_url = {endpoint}\n"
        "s3 =\n    addressing_style = path\n")
    env = rootfs / "etc/profile.d/argos-sandbox.sh"
    env.write_text(f"export AWS_DEFAULT_REGION={seed.region}\n"
                   f"export AWS_ENDPOINT_URL={endpoint}\n")


def boot(machine: Machine, records: Records, *, wheelhouse: Path | None,
         clock: Clock | None = None) -> None:
    """Start the container detached; records its pids as soon as they exist."""
    argv = ["systemd-nspawn", "--quiet", "--boot", "--register=no", "--keep-unit",
            f"--machine={machine.instance_id}", f"--directory={machine.rootfs}",
            f"--network-namespace-path=/run/netns/{machine.netns}",
            "--capability=all", "--console=passive",
            "--resolv-conf=off",  # not this computer's resolver: its address is not theirs
            "--timezone=off", "--link-journal=no"]
    if wheelhouse is not None:
        argv.append(f"--bind-ro={wheelhouse}:{WHEELS_IN_MACHINE}")
    log = open(machine.root_dir / "nspawn.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 start_new_session=True)
    finally:
        log.close()
    machine.nspawn_pid = child.pid
    machine.record(records)

    def init_started() -> bool:
        machine.leader_pid = _init_of(child.pid)
        if not machine.leader_pid and child.poll() is not None:
            raise OperationFailed(f"hosts sandbox: {machine.instance_id} did not boot",
                                  detail=_tail(machine.root_dir / "nspawn.log"))
        return bool(machine.leader_pid)

    if not wait_until(init_started, clock=clock or RealClock(), timeout=30, initial=0.05,
                      cap=0.5):
        raise OperationFailed(f"hosts sandbox: {machine.instance_id} has no init after 30 s")
    machine.record(records)


def _init_of(pid: int) -> int:
    """The container's PID 1: the child of nspawn running systemd (nspawn forks a helper first)."""
    with contextlib.suppress(OSError, ValueError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            if Path(f"/proc/{child}/comm").read_text().strip() in ("systemd", "init"):
                return int(child)
    return 0


def _tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-2000:]
    return ""


def enter(machine: Machine, argv: list[str]) -> list[str]:
    """argv that runs `argv` inside the machine (all its namespaces)."""
    return ["nsenter", "--target", str(machine.leader_pid), "--all", "--", *argv]


def system_state(machine: Machine) -> str:
    """systemd's own word on the boot: starting, running, degraded, …"""
    if not machine.leader_pid or not process_alive(machine.leader_pid):
        return "gone"
    done = run(enter(machine, ["systemctl", "is-system-running"]), check=False, timeout=30)
    return done.stdout.strip() or "unknown"


def wait_ready(machine: Machine, timeout: float = 180.0, clock: Clock | None = None) -> str:
    """Wait for multi-user.target, where EC2's SSM agent runs: user data may still be going."""
    state = "unknown"

    def settled() -> bool:
        nonlocal state
        if not machine.leader_pid or not process_alive(machine.leader_pid):
            state = "gone"
            return True
        done = run(enter(machine, ["systemctl", "is-active", "multi-user.target"]),
                   check=False, timeout=30)
        state = done.stdout.strip()
        return state == "active"

    wait_until(settled, clock=clock or RealClock(), timeout=timeout, initial=0.5, cap=2.0)
    return state


def power_off(machine: Machine, records: Records, timeout: float = 20.0,
              clock: Clock | None = None) -> None:
    """A clean poweroff; the container's PID 1 is killed if it does not go in time."""
    clock = clock or RealClock()
    if machine.leader_pid and process_alive(machine.leader_pid):
        run(enter(machine, ["systemctl", "poweroff", "--no-block"]), check=False, timeout=30)
        wait_until(lambda: not process_alive(machine.nspawn_pid, reap=True), clock=clock,
                   timeout=timeout, initial=0.2, cap=1.0)
    kill_recorded(machine.leader_pid, "systemd", clock=clock)
    kill_recorded(machine.nspawn_pid, "systemd-nspawn", clock=clock)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(machine.nspawn_pid, os.WNOHANG)
    unmount_root(machine.root_dir)
    shutil.rmtree(machine.root_dir, ignore_errors=True)
    records.drop("machine", machine.instance_id)
