"""Where the application's source comes from, as the hosts will clone it.

`[source] repository` is a URL (https, ssh, git) used as given, or a local
path / file:// URL. A local folder that is not a git repository yet (the
shipped reference app) is turned into one on first use, under the project's
state folder, so it has commits to deploy. On the hosts sandbox the machines
clone a local repository from the sandbox's git daemon (a mirror refreshed
before every bundle); on AWS a local path cannot be cloned by an instance,
so it is refused.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

from argos_cloud.errors import BadInput, OperationFailed

REMOTE = re.compile(r"^(https?|ssh|git)://|^[\w.-]+@[\w.-]+:")
SANDBOX_GIT = "git://169.254.169.254"
IDENTITY = ["-c", "user.name=argos-cloud", "-c", "user.email=argos-cloud@localhost"]


def is_local(repository: str) -> bool:
    return not REMOTE.match(repository)


def local_path(repository: str, config_dir: Path) -> Path:
    path = Path(repository.removeprefix("file://")).expanduser()
    return path if path.is_absolute() else (config_dir / path).resolve()


def _git(*argv: str, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(["git", *IDENTITY, *argv], cwd=cwd, capture_output=True,
                              text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise OperationFailed(f"git {argv[0]} failed: {e}") from e
    if done.returncode != 0:
        raise OperationFailed(f"git {argv[0]} failed: {done.stderr.strip()[-300:]}")
    return done.stdout.strip()


def source_repository(repository: str, config_dir: Path, state_dir: Path) -> str:
    """The repository to resolve refs in and clone: a URL as given, or a local git repository.

    A plain folder becomes a repository under `state_dir/sources/` with one
    commit of its files (once); later changes are committed by the user there.
    """
    if not is_local(repository):
        return repository
    path = local_path(repository, config_dir)
    if not path.is_dir():
        raise BadInput(f"source.repository: {path} does not exist")
    if (path / ".git").exists() or (path / "HEAD").is_file():
        return str(path)
    made = state_dir / "sources" / path.name
    if not (made / ".git").exists():
        shutil.rmtree(made, ignore_errors=True)
        shutil.copytree(path, made, ignore=shutil.ignore_patterns(
            "__pycache__", "*.pyc", ".venv", ".pytest_cache"))
        _git("init", "-q", "-b", "main", cwd=made)
        _git("add", "-A", cwd=made)
        _git("commit", "-q", "-m", f"{path.name} as shipped with argos-cloud", cwd=made)
    return str(made)


def mirror_name(repository: str) -> str:
    digest = hashlib.sha256(repository.encode()).hexdigest()[:8]
    return f"{Path(repository).name}-{digest}.git"


def for_hosts(repository: str, *, hosts: bool, emulated: bool, git_root: Path) -> str:
    """The URL the environment's hosts clone.

    On the hosts sandbox a local repository is mirrored into the git daemon's
    folder; on the plain emulator nothing clones, so the path is kept; on AWS
    a local path is refused.
    """
    if not is_local(repository):
        return repository
    if hosts:
        target = git_root / mirror_name(repository)
        if not target.exists():
            git_root.mkdir(parents=True, exist_ok=True)
            _git("clone", "-q", "--mirror", repository, str(target))
        else:
            _git("fetch", "-q", "--prune", repository, "+refs/*:refs/*", cwd=target)
        return f"{SANDBOX_GIT}/{target.name}"
    if emulated:
        return repository
    raise BadInput(f"source.repository: {repository} is a local path, which instances on AWS "
                   "cannot clone: push it to a git host and give its URL")
