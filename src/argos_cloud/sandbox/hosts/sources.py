"""Source repositories for the machines: `git daemon`, read-only, on 169.254.169.254.

The tool mirrors a local `[source] repository` (a path or file:// URL) into
`<state dir>/hosts/run/git/` before it publishes a bundle; the machines clone
`git://169.254.169.254/<name>` from there, as they would clone from GitHub.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from argos_cloud.sandbox.hosts.network import ANCHOR_IP
from argos_cloud.sandbox.hosts.records import Records, start_daemon

PORT = 9418
MARKER = "argos-sandbox-git"


def base(state_run: Path) -> Path:
    return state_run / "git"


def start(records: Records, state_run: Path) -> int:
    root = base(state_run)
    root.mkdir(parents=True, exist_ok=True)
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True,
                               check=False).stdout.strip()
    daemon = f"{exec_path}/git-daemon" if exec_path else "git-daemon"
    argv = [daemon, "--reuseaddr", f"--listen={ANCHOR_IP}", f"--port={PORT}",
            "--export-all", f"--base-path={root}", f"--pid-file={state_run}/{MARKER}.pid",
            str(root)]
    return start_daemon(records, "git-daemon", MARKER, argv, state_run / "git-daemon.log")
