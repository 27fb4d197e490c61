"""The machines' base image: Debian 12 built once with debootstrap, then cached.

The root filesystem lives under the user's cache directory, named by a digest
of its recipe, so a changed recipe builds a new one and a warm cache costs
nothing. It is what a Debian cloud image has that matters here (systemd,
cloud-init, python3, curl, CA certificates), plus the host's CA bundle:
registries are reached through this workplace's TLS-inspecting egress.

The wheelhouse holds Salt's wheels (timelib compiles for minutes otherwise),
built once on this computer when it runs the same Debian and Python as the
machines; the machines' pip finds it through find-links, like a local mirror.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from argos_cloud.errors import OperationFailed
from argos_cloud.sandbox.hosts.system import run

SUITE = "bookworm"
PACKAGES = ("systemd", "systemd-sysv", "dbus", "python3", "python3-venv", "iproute2",
            "procps", "curl", "ca-certificates", "e2fsprogs", "util-linux")
# Installed with apt in the new root: debootstrap's resolver does not follow the
# virtual packages cloud-init's dependencies need (python3-cffi-backend-api-*).
# build-essential and python3-dev too: every host's user data installs them for
# Salt's timelib, and unpacking them on each machine costs a minute of 2 cores.
APT_PACKAGES = ("cloud-init", "locales", "build-essential", "python3-dev", "git")
RECIPE_VERSION = "3"  # bump when the post-install steps below change
IMAGE_NAME = "argos-cloud-sandbox/debian-12-bookworm-amd64"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
CLOUD_CFG = """# argos-cloud hosts sandbox: user data and meta data come from the NoCloud
# seed the sandbox writes; the network is set up from outside, as EC2's is.
datasource_list: [NoCloud, None]
network: {config: disabled}
locale: en_US.UTF-8
"""
SOURCES = """deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
"""

Log = Callable[[str], None]


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "argos-cloud" / "hosts"


def recipe_digest() -> str:
    body = "\n".join([SUITE, RECIPE_VERSION, *PACKAGES, *APT_PACKAGES, CLOUD_CFG, SOURCES])
    return hashlib.sha256(body.encode()).hexdigest()[:12]


def mirror() -> str:
    """Debian's registry, or the mirror named by ARGOS_CLOUD_DEBIAN_MIRROR."""
    return os.environ.get("ARGOS_CLOUD_DEBIAN_MIRROR") or DEFAULT_MIRROR


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def ensure_base_image(log: Log, root: Path | None = None) -> Path:
    """The cached root filesystem, built now when missing (about 2 minutes)."""
    root = root or cache_root()
    target = root / f"debian-12-{recipe_digest()}"
    with _locked(root / "build.lock"):
        if (target / "rootfs" / "etc" / "argos-sandbox-base").exists():
            return target / "rootfs"
        work = root / f".building-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        log(f"building the Debian 12 base image with debootstrap into {target} "
            "(once; about 2 minutes)")
        rootfs = work / "rootfs"
        try:
            run(["debootstrap", "--variant=minbase",
                 "--include=" + ",".join(PACKAGES), SUITE, str(rootfs), mirror()],
                timeout=1800)
            _configure(rootfs)
        except OperationFailed:
            shutil.rmtree(work, ignore_errors=True)
            raise
        shutil.rmtree(target, ignore_errors=True)
        os.replace(work, target)
        return target / "rootfs"


def _configure(rootfs: Path) -> None:
    """What a cloud image has beyond debootstrap, and the registries' CA."""
    certs = rootfs / "usr/local/share/ca-certificates"
    certs.mkdir(parents=True, exist_ok=True)
    for extra in Path("/usr/local/share/ca-certificates").glob("**/*.crt"):
        shutil.copy2(extra, certs / extra.name)
    shutil.copy2("/etc/ssl/certs/ca-certificates.crt",
                 rootfs / "etc/ssl/certs/ca-certificates.crt")
    (rootfs / "etc/apt/sources.list").write_text(SOURCES)
    shutil.copy2("/etc/resolv.conf", rootfs / "etc/resolv.conf")  # the build runs here
    run(["chroot", str(rootfs), "apt-get", "update", "-q"], timeout=600)
    run(["chroot", str(rootfs), "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install",
         "-y", "-q", "--no-install-recommends", *APT_PACKAGES], timeout=1200)
    (rootfs / "etc/cloud/cloud.cfg.d").mkdir(parents=True, exist_ok=True)
    (rootfs / "etc/cloud/cloud.cfg.d/90-argos-sandbox.cfg").write_text(CLOUD_CFG)
    locale_gen = rootfs / "etc/locale.gen"
    locale_gen.write_text("en_US.UTF-8 UTF-8\nC.UTF-8 UTF-8\n")
    run(["chroot", str(rootfs), "locale-gen"], timeout=300)
    run(["chroot", str(rootfs), "update-locale", "LANG=en_US.UTF-8"], timeout=60)
    run(["chroot", str(rootfs), "update-ca-certificates", "--fresh"], timeout=120)
    run(["chroot", str(rootfs), "apt-get", "clean"], timeout=120)
    (rootfs / "etc/machine-id").write_text("")  # each machine makes its own at first boot
    (rootfs / "etc/resolv.conf").unlink(missing_ok=True)
    (rootfs / "etc/resolv.conf").write_text("# no resolver: the registries are reached "
                                            "through the sandbox's proxy\n")
    (rootfs / "etc/hostname").write_text("localhost\n")
    (rootfs / "etc/argos-sandbox-base").write_text(f"{IMAGE_NAME} {recipe_digest()}\n")


def wheelhouse_usable() -> bool:
    """Wheels built here fit the machines only on the same Debian and Python."""
    try:
        release = Path("/etc/os-release").read_text()
    except OSError:
        return False
    return 'VERSION_ID="12"' in release and sys.version_info[:2] == (3, 11)


def ensure_wheelhouse(log: Log, requirements: list[str], root: Path | None = None) -> Path | None:
    """Wheels for `requirements` (Salt and boto3), built once; None when they would not fit."""
    if not wheelhouse_usable():
        return None
    root = root or cache_root()
    digest = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:12]
    target = root / f"wheels-{digest}"
    with _locked(root / "wheels.lock"):
        if (target / ".complete").exists():
            return target
        log(f"building wheels for the machines' Salt into {target} (once; about 2 minutes)")
        shutil.rmtree(target, ignore_errors=True)
        run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(target),
             *requirements], timeout=1800)
        (target / ".complete").write_text("\n".join(requirements) + "\n")
        return target
