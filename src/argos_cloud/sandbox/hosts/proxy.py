"""The machines' only way out: apt-cacher-ng on 169.254.169.254, made for the job.

Debian's packages go through its cache (kept under the user's cache
directory, so a second run downloads nothing); HTTPS reaches only PyPI, by
CONNECT to the hosts in PASS_THROUGH. ForceManaged refuses every other site.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from argos_cloud.sandbox.hosts.network import ANCHOR_IP
from argos_cloud.sandbox.hosts.records import Records, start_daemon

PORT = 3149  # not 3142, where a system apt-cacher-ng may already listen
PASS_THROUGH = r"^(pypi\.org|files\.pythonhosted\.org):443$"
MARKER = "argos-sandbox-acng"
DEBIAN = "http://deb.debian.org/debian/"


def start(records: Records, cache: Path, state: Path, port: int = PORT) -> int:
    """Start apt-cacher-ng in the foreground of a child; returns its pid."""
    cache.mkdir(parents=True, exist_ok=True)
    logs = state / "apt-cacher-ng"
    logs.mkdir(parents=True, exist_ok=True)
    conf = logs / "conf"
    shutil.copytree("/etc/apt-cacher-ng", conf, dirs_exist_ok=True)
    # Debian's package leaves the archive's backend list empty; name the registry.
    (conf / "backends_debian").write_text(DEBIAN + "\n")
    argv = ["apt-cacher-ng", "-c", str(conf), "ForeGround=1",
            f"Port={port}", f"BindAddress={ANCHOR_IP}", f"CacheDir={cache}",
            f"LogDir={logs}", f"SocketPath={logs}/{MARKER}.socket",
            f"PidFile={logs}/pid", f"PassThroughPattern={PASS_THROUGH}", "ForceManaged=1",
            "ExThreshold=30", "ReuseConnections=1"]
    return start_daemon(records, "apt-cacher-ng", MARKER, argv, logs / "stdout.log")
