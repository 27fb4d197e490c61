"""Is a process still there? One answer for the lock, the sandbox and its machines.

Stdlib only, so the sandbox's server (started before anything else is loaded) and
the engine's lock can share it. Linux's /proc tells a zombie and a reused pid apart;
where /proc does not show the process, the signal alone is trusted.
"""

from __future__ import annotations

import os
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (fields 3 onwards of proc(5)), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def process_args(pid: int) -> list[str] | None:
    """The command line `pid` was started with (/proc/<pid>/cmdline), or None when unreadable.

    What tells our own recorded processes from strangers that reused a pid.
    """
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    text = raw.decode(errors="replace").rstrip("\0")
    return text.split("\0") if text else []  # [] until it has exec'd, or as a zombie


def process_start(pid: int) -> str | None:
    """The kernel's start time of `pid` (clock ticks since boot), or None when it is gone.

    With the pid it tells a live process from a new one that reused its pid.
    """
    fields = _stat_fields(pid)
    return fields[19] if fields is not None and len(fields) > 19 else None  # field 22


def process_alive(pid: int, started: str | None = None, *, reap: bool = False) -> bool:
    """True when `pid` runs on this host, is no zombie and, if known, started at `started`.

    `reap` first collects our own exited child, so it does not linger as a zombie.
    """
    if pid <= 0:
        return False
    if reap and _reap(pid):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    fields = _stat_fields(pid)
    if fields is None:
        return True  # no /proc, or hidden from us: the signal said it exists
    if fields and fields[0] == "Z":
        # A zombie leader is dead, unless it is our child whose other threads are still
        # exiting: then it is gone only once collected (else it would linger, unreaped).
        return reap and _reap(pid) is False
    if started:
        return len(fields) <= 19 or fields[19] == started
    return True


def _reap(pid: int) -> bool | None:
    """Collect `pid` if it is our child and has ended: True when collected, False when our
    child still runs, None when it is not our child (its own parent collects it)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return done == pid
