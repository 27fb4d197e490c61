"""Everything the hosts sandbox makes is written down before it is made.

One small JSON file per thing under `<state dir>/hosts/records/`, removed
once the thing is undone. `teardown` undoes whatever is recorded, in an
order that works (processes, then devices, links, namespaces, rules,
directories), so `sandbox stop` clears the computer even after the sandbox
process was killed with -9. Every step tolerates "already gone".
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from argos_cloud.clock import Clock, RealClock
from argos_cloud.processes import process_alive, process_args
from argos_cloud.waiting import wait_until

# Undo order: lower first.
ORDER = {"machine": 0, "process": 1, "loop": 2, "link": 3, "netns": 4, "firewall": 5,
         "anchor": 6, "sysctl": 7, "dir": 8, "file": 9}
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


class Records:
    """The on-disk list of what exists; safe to read from another process."""

    def __init__(self, root: Path) -> None:
        self.root = root / "records"

    def add(self, kind: str, key: str, **data: Any) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self._path(kind, key)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"kind": kind, "key": key, **data}, sort_keys=True))
        os.replace(tmp, path)

    def drop(self, kind: str, key: str) -> None:
        self._path(kind, key).unlink(missing_ok=True)

    def all(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for path in sorted(self.root.glob("*.json")) if self.root.is_dir() else []:
            with contextlib.suppress(OSError, ValueError):
                found.append(json.loads(path.read_text()))
        return sorted(found, key=lambda r: ORDER.get(str(r.get("kind")), 99))

    def _path(self, kind: str, key: str) -> Path:
        return self.root / f"{kind}-{_SAFE.sub('_', key)}.json"


def start_daemon(records: Records, key: str, marker: str, argv: list[str], log: Path) -> int:
    """A service of the sandbox in a session of its own, recorded with the marker that proves
    it ours (its command line carries it); its output goes to `log`."""
    from argos_cloud.errors import OperationFailed

    with open(log, "ab") as out:
        try:
            child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                     start_new_session=True)
        except OSError as e:
            raise OperationFailed(f"hosts sandbox: {key} did not start: {e}") from e
    records.add("process", key, pid=child.pid, marker=marker)
    return child.pid


def _quiet(argv: list[str]) -> None:
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(argv, capture_output=True, timeout=60, check=False)


def _cmdline(pid: int) -> str:
    return " ".join(process_args(pid) or ())


def kill_recorded(pid: int, marker: str, wait: float = 10.0,
                  clock: Clock | None = None) -> None:
    """SIGKILL `pid` only when its command line still carries `marker` (never a stranger).

    Returns once it is gone (our own child reaped), or after `wait` seconds regardless.
    """
    if pid <= 0 or not process_alive(pid) or marker not in _cmdline(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not process_alive(pid, reap=True), clock=clock or RealClock(),
               timeout=wait, initial=0.05, cap=0.5)


def undo(record: dict[str, Any], clock: Clock | None = None) -> None:
    """Undo one recorded thing; gone already counts as done."""
    kind = record.get("kind")
    if kind == "machine":
        # Killing the container's PID 1 ends its whole PID namespace.
        kill_recorded(int(record.get("leader_pid") or 0), "systemd", clock=clock)
        kill_recorded(int(record.get("nspawn_pid") or 0), "systemd-nspawn", clock=clock)
        path = record.get("rootfs_dir")
        if path:
            rootfs = Path(str(path)) / "rootfs"
            for _ in range(3):
                if not os.path.ismount(rootfs):
                    break
                _quiet(["umount", "--lazy", str(rootfs)])
            if not os.path.ismount(rootfs):  # never delete through a mounted overlay
                shutil.rmtree(str(path), ignore_errors=True)
    elif kind == "process":
        pid = int(record.get("pid") or 0)
        if pid > 0 and process_alive(pid) and str(record.get("marker") or "\0") in _cmdline(pid):
            # Started in a session of its own: its group is its children too (git
            # daemon runs git-daemon as a child), and nothing else of ours.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        kill_recorded(pid, str(record.get("marker") or "\0"), clock=clock)
    elif kind == "loop":
        device = str(record.get("device") or "")
        if device.startswith("/dev/loop"):
            _quiet(["losetup", "-d", device])
    elif kind == "link":
        _quiet(["ip", "link", "del", str(record["key"])])
    elif kind == "netns":
        _quiet(["ip", "netns", "del", str(record["key"])])
    elif kind == "firewall":
        for table, chain, rule in record.get("jumps", []):
            _quiet(["iptables", "-t", table, "-D", chain, *rule])
        for table, chain in record.get("chains", []):
            _quiet(["iptables", "-t", table, "-F", chain])
            _quiet(["iptables", "-t", table, "-X", chain])
    elif kind == "anchor":
        _quiet(["ip", "link", "del", str(record["key"])])
    elif kind == "sysctl":
        with contextlib.suppress(OSError):
            Path(str(record["path"])).write_text(str(record["old"]))
    elif kind == "dir":
        shutil.rmtree(str(record["key"]), ignore_errors=True)
    elif kind == "file":
        Path(str(record["key"])).unlink(missing_ok=True)


def teardown(records: Records, log: Callable[[str], None] | None = None,
             clock: Clock | None = None) -> int:
    """Undo everything recorded; returns how many things were undone."""
    done = 0
    for record in records.all():
        undo(record, clock)
        records.drop(str(record["kind"]), str(record["key"]))
        done += 1
        if log:
            log(f"removed {record['kind']} {record['key']}")
    return done
