"""What the hosts sandbox needs from this computer, and running its tools.

A missing tool is reported with the Debian package that brings it, before
anything is started.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from argos_cloud.errors import BadInput, OperationFailed

# tool -> the Debian package that brings it
TOOLS: dict[str, str] = {
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "nsenter": "util-linux",
    "losetup": "util-linux",
    "ip": "iproute2",
    "iptables": "iptables",
    "iptables-restore": "iptables",
    "apt-cacher-ng": "apt-cacher-ng",
    "git": "git",
    "haproxy": "haproxy",
}
PACKAGES = tuple(sorted(set(TOOLS.values())))


@dataclass(frozen=True)
class Missing:
    what: str
    packages: tuple[str, ...]

    def message(self) -> str:
        fix = (f"; as root: apt-get install -y {' '.join(self.packages)}"
               if self.packages else "")
        return f"the hosts sandbox cannot start: {self.what}{fix}"


def missing() -> Missing | None:
    """Why the hosts sandbox cannot run here, or None when it can."""
    if platform.system() != "Linux":
        return Missing(f"it needs Linux (this is {platform.system()})", ())
    if os.geteuid() != 0:
        return Missing("it needs root (machines, namespaces and loop devices)", ())
    absent = [tool for tool in TOOLS if shutil.which(tool) is None]
    if absent:
        packages = tuple(sorted({TOOLS[t] for t in absent}))
        return Missing(f"missing {', '.join(absent)}", packages)
    return None


def require() -> None:
    """Raise BadInput (exit 2) naming what is missing and the packages that bring it."""
    problem = missing()
    if problem is not None:
        raise BadInput(problem.message())


def run(argv: Sequence[str], *, check: bool = True, timeout: float = 600.0,
        input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a host tool; a failure becomes OperationFailed with its stderr."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                              input=input_text, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise OperationFailed(f"hosts sandbox: {argv[0]} failed: {e}") from e
    if check and done.returncode != 0:
        raise OperationFailed(f"hosts sandbox: {' '.join(argv[:4])} exited {done.returncode}",
                              detail=(done.stderr or done.stdout)[-2000:])
    return done
