"""Resolving a branch or tag to one commit with `git ls-remote`, before a deploy.

A deploy pins one commit for every host, so no two hosts run different versions;
names are resolved here, once, on the operator's machine. Git never prompts
(GIT_TERMINAL_PROMPT=0, ssh in batch mode) and is given a timeout, so an
unreachable repository is one clear error, never a hang.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Mapping
from typing import Any

from argos_cloud.config.schema import COMMIT
from argos_cloud.config.schema import git_ref_problem as ref_problem
from argos_cloud.errors import BadInput, OperationFailed

Runner = Callable[..., Any]  # subprocess.run's shape


def check_ref(ref: str, where: str = "--ref") -> str:
    """`ref` itself when valid; BadInput naming `where` otherwise."""
    problem = ref_problem(ref)
    if problem:
        raise BadInput(f"{where}: {ref!r} {problem}: give a branch, a tag or a 40-hex commit")
    return ref


def is_commit(ref: str) -> bool:
    """A full 40-hex commit id: used as given, no lookup."""
    return COMMIT.fullmatch(ref) is not None


def ls_remote_command(repository: str, ref: str) -> list[str]:
    """The argv: the name itself (full ref names), as branch, as tag and as peeled tag."""
    if ref.startswith("refs/"):
        return ["git", "ls-remote", "--", repository, ref, f"{ref}^{{}}"]
    return ["git", "ls-remote", "--", repository, f"refs/heads/{ref}", f"refs/tags/{ref}",
            f"refs/tags/{ref}^{{}}"]


def quiet_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment with every credential prompt turned off."""
    env = dict(os.environ if base is None else base)
    env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true", SSH_ASKPASS="true",
               GCM_INTERACTIVE="never",
               GIT_SSH_COMMAND="ssh -o BatchMode=yes -o ConnectTimeout=10")
    return env


def pick(listing: str, ref: str) -> str | None:
    """The commit `ref` names in ls-remote output; git's order: tags before branches.

    An annotated tag's own id is a tag object: its peeled line (`^{}`) names the commit.
    """
    found: dict[str, str] = {}
    for line in listing.splitlines():
        sha, _, name = line.strip().partition("\t")
        if COMMIT.fullmatch(sha) and name:
            found[name] = sha.lower()
    if ref.startswith("refs/"):
        order = [f"{ref}^{{}}", ref]
    else:
        order = [f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}", f"refs/heads/{ref}"]
    return next((found[name] for name in order if name in found), None)


def resolve_ref(repository: str, ref: str, *, runner: Runner = subprocess.run,
                timeout: float = 20) -> str:
    """A 40-hex commit as given (lowercased); else the commit the branch or tag names.

    Raises OperationFailed when the repository cannot be reached (or git is
    missing), BadInput when it answers but has no such branch or tag.
    """
    ref = ref.strip()
    if is_commit(ref):
        return ref.lower()
    check_ref(ref)
    argv = ls_remote_command(repository, ref)
    try:
        done = runner(argv, capture_output=True, text=True, timeout=timeout,
                      env=quiet_environment(), stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        raise OperationFailed("cannot resolve --ref: git is not installed on this machine; "
                              "give a full 40-hex commit instead") from None
    except subprocess.TimeoutExpired:
        raise OperationFailed(f"cannot reach {repository}: git ls-remote gave no answer in "
                              f"{timeout:g} s") from None
    if done.returncode != 0:
        lines = [s for s in str(done.stderr or "").splitlines() if s.strip()]
        why = lines[-1].strip() if lines else f"git exited with {done.returncode}"
        raise OperationFailed(f"cannot reach {repository}: {why}",
                              detail=str(done.stderr or ""))
    commit = pick(str(done.stdout or ""), ref)
    if commit is None:
        hint = " (an abbreviated commit must be given in full, 40 hex digits)" if re.fullmatch(
            r"[0-9a-fA-F]{4,39}", ref) else ""
        raise BadInput(f"--ref: {repository} has no branch or tag named '{ref}'{hint}")
    return commit
