"""The commit this checkout runs, read from its .git without needing the git binary.

Salt checks the app out at a pinned commit (a detached HEAD); a branch checkout
is followed through its ref, loose or packed. `git rev-parse HEAD` is the
fallback for anything stranger (a linked worktree's common dir, reftables).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

COMMIT = re.compile(r"[0-9a-f]{40}")


def find_checkout(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds a `.git` (folder or file)."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def git_dir(checkout: Path) -> Path:
    """`.git` itself, or where a `.git` file (`gitdir: …`) points."""
    dot_git = checkout / ".git"
    if dot_git.is_file():
        target = dot_git.read_text().strip().removeprefix("gitdir:").strip()
        return (checkout / target).resolve()
    return dot_git


def _ref_dirs(gitdir: Path) -> list[Path]:
    """The git dir, then the common dir a linked worktree's `commondir` names."""
    common = gitdir / "commondir"
    if common.is_file():
        return [gitdir, (gitdir / common.read_text().strip()).resolve()]
    return [gitdir]


def _resolve_ref(gitdir: Path, ref: str) -> str | None:
    for folder in _ref_dirs(gitdir):
        loose = folder / ref
        if loose.is_file():
            value = loose.read_text().strip()
            return value if COMMIT.fullmatch(value) else None
        packed = folder / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                sha, _, name = line.partition(" ")
                if name == ref and COMMIT.fullmatch(sha):
                    return sha
    return None


def read_head(checkout: Path) -> str | None:
    """HEAD's commit from the files alone, or None when they do not say."""
    gitdir = git_dir(checkout)
    head = gitdir / "HEAD"
    if not head.is_file():
        return None
    value = head.read_text().strip()
    if COMMIT.fullmatch(value):
        return value
    if value.startswith("ref:"):
        return _resolve_ref(gitdir, value.removeprefix("ref:").strip())
    return None


def rev_parse(checkout: Path) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and COMMIT.fullmatch(value) else None


def current_commit(start: Path | None = None) -> str:
    """The 40-hex commit of the checkout holding `start` (default: this package), or ""."""
    checkout = find_checkout((start or Path(__file__).parent).resolve())
    if checkout is None:
        return ""
    return read_head(checkout) or rev_parse(checkout) or ""
