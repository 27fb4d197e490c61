"""The reference app reads the commit it runs from its checkout's files, git or no git."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REFERENCE_APP = Path(__file__).resolve().parents[2] / "reference-app"
if str(REFERENCE_APP) not in sys.path:
    sys.path.insert(0, str(REFERENCE_APP))

from argos.commit import current_commit, read_head  # noqa: E402


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True, env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                                           "GIT_COMMITTER_NAME": "t",
                                           "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(repo),
                                           "PATH": "/usr/bin:/bin:/usr/local/bin"})
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout with two commits on `main`, made with the real git."""
    path = tmp_path / "app"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    for n in (1, 2):
        (path / "file.txt").write_text(f"{n}\n")
        git(path, "add", "file.txt")
        git(path, "commit", "-q", "-m", f"commit {n}")
    return path


def test_a_branch_checkout_is_followed_through_its_loose_ref(repo: Path) -> None:
    assert read_head(repo) == git(repo, "rev-parse", "HEAD")


def test_a_packed_ref_is_found_without_git(repo: Path) -> None:
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git/refs/heads/main").exists()
    assert read_head(repo) == git(repo, "rev-parse", "HEAD")


def test_a_detached_checkout_at_a_pinned_commit_reads_that_commit(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD~1")
    git(repo, "checkout", "-q", "--detach", first)  # what Salt's git.latest leaves
    assert read_head(repo) == first


def test_a_linked_worktree_reads_refs_from_the_common_dir(repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    git(repo, "worktree", "add", "-q", "-b", "side", str(other))
    assert (other / ".git").is_file()
    assert read_head(other) == git(other, "rev-parse", "HEAD")


def test_the_commit_is_found_from_a_package_folder_inside_the_checkout(repo: Path) -> None:
    package = repo / "argos"
    package.mkdir()
    assert current_commit(package) == git(repo, "rev-parse", "HEAD")


def test_outside_any_checkout_the_commit_is_empty(tmp_path: Path) -> None:
    if any((folder / ".git").exists() for folder in (tmp_path, *tmp_path.parents)):
        pytest.skip(f"{tmp_path} lies inside a git checkout")
    assert read_head(tmp_path) is None
    assert current_commit(tmp_path) == ""
