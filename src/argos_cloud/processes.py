"""Is a process still there? One answer for the lock, the sandbox and its machines.

Stdlib only, so the sandbox's server (started before anything else is loaded) and
the engine's lock can share it. Linux's /proc tells a zombie and a reused pid apart;
where /proc does not show the process, the signal alone is trusted.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (fields 3 onwards of proc(5)), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return text.rpartition(")")[2].split()


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
    if reap and _reaped(pid):
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
        if reap:
            _reaped(pid)  # it ended since the first look: collect it now
        return False  # a zombie is dead
    if started:
        return len(fields) <= 19 or fields[19] == started
    return True


def _reaped(pid: int) -> bool:
    """Collect `pid` if it is our own child and has ended; False when it runs or is not ours."""
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == pid
    return False
