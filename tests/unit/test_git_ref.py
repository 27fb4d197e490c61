"""Resolving --ref: a commit as given, names through `git ls-remote`, never a prompt or hang."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from argos_cloud.errors import BadInput, OperationFailed
from argos_cloud.provision.git import ls_remote_command, pick, quiet_environment, resolve_ref

A = "a" * 40
B = "b" * 40
C = "c" * 40


class FakeRunner:
    def __init__(self, stdout: str = "", returncode: int = 0, stderr: str = "",
                 raises: BaseException | None = None) -> None:
        self.stdout, self.returncode, self.stderr, self.raises = stdout, returncode, stderr, raises
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((argv, kwargs))
        if self.raises is not None:
            raise self.raises
        return subprocess.CompletedProcess(argv, self.returncode, self.stdout, self.stderr)


def test_a_full_commit_is_returned_lowercased_without_running_git() -> None:
    runner = FakeRunner()
    assert resolve_ref("repo", "ABCDEF" + "0" * 34, runner=runner) == "abcdef" + "0" * 34
    assert runner.calls == []


def test_the_command_asks_for_branch_tag_and_peeled_tag_and_never_prompts() -> None:
    runner = FakeRunner(stdout=f"{A}\trefs/heads/main\n")
    assert resolve_ref("https://example.invalid/x.git", "main", runner=runner, timeout=7) == A
    argv, kwargs = runner.calls[0]
    assert argv == ["git", "ls-remote", "--", "https://example.invalid/x.git",
                    "refs/heads/main", "refs/tags/main", "refs/tags/main^{}"]
    assert kwargs["timeout"] == 7 and kwargs["env"]["GIT_TERMINAL_PROMPT"] == "0"
    assert kwargs["stdin"] == subprocess.DEVNULL
    assert "BatchMode=yes" in quiet_environment({})["GIT_SSH_COMMAND"]


def test_a_full_ref_name_is_asked_for_as_is_with_its_peeled_form() -> None:
    assert ls_remote_command("r", "refs/tags/v2") == [
        "git", "ls-remote", "--", "r", "refs/tags/v2", "refs/tags/v2^{}"]


@pytest.mark.parametrize(("listing", "ref", "expected"), [
    (f"{A}\trefs/tags/v1\n{B}\trefs/tags/v1^{{}}\n", "v1", B),  # annotated tag: peeled wins
    (f"{A}\trefs/tags/v1\n", "v1", A),  # lightweight tag
    (f"{A}\trefs/heads/x\n{C}\trefs/tags/x\n", "x", C),  # git's order: tag before branch
    (f"{A}\trefs/heads/feature/x\n", "feature/x", A),
    (f"{A}\trefs/heads/other/main\n", "main", None),  # tail matches are not exact
    (f"{A}\trefs/heads/main\n", "refs/heads/main", A),
    ("", "main", None),
])
def test_pick_finds_the_exact_name(listing: str, ref: str, expected: str | None) -> None:
    assert pick(listing, ref) == expected


def test_an_unknown_name_is_bad_input_naming_it() -> None:
    with pytest.raises(BadInput, match="no branch or tag named 'nope'"):
        resolve_ref("repo", "nope", runner=FakeRunner(stdout=""))


def test_an_unreachable_repository_is_one_clear_line() -> None:
    runner = FakeRunner(returncode=128, stderr="fatal: could not read Username for "
                        "'https://github.com': terminal prompts disabled\n")
    with pytest.raises(OperationFailed, match="cannot reach repo: fatal: could not read"):
        resolve_ref("repo", "main", runner=runner)


def test_a_timeout_is_an_operation_failure_not_a_hang() -> None:
    runner = FakeRunner(raises=subprocess.TimeoutExpired(["git"], 20))
    with pytest.raises(OperationFailed, match="no answer in 20 s"):
        resolve_ref("repo", "main", runner=runner)


def test_a_missing_git_says_so() -> None:
    with pytest.raises(OperationFailed, match="git is not installed"):
        resolve_ref("repo", "main", runner=FakeRunner(raises=FileNotFoundError("git")))


def test_an_option_looking_ref_is_refused_before_git_runs() -> None:
    runner = FakeRunner()
    with pytest.raises(BadInput):
        resolve_ref("repo", "--upload-pack=evil", runner=runner)
    assert runner.calls == []


# -- a real repository on disk: no network
def _git(cwd: Path, *args: str) -> str:
    env = {**quiet_environment(), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def bare_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    bare, work = tmp_path / "app.git", tmp_path / "work"
    _git(tmp_path, "init", "--bare", "-q", str(bare))
    _git(tmp_path, "init", "-q", "-b", "main", str(work))
    (work / "a.txt").write_text("one\n")
    _git(work, "add", "a.txt")
    _git(work, "commit", "-q", "-m", "one")
    first = _git(work, "rev-parse", "HEAD")
    _git(work, "tag", "-a", "v1", "-m", "release 1")
    (work / "a.txt").write_text("two\n")
    _git(work, "commit", "-q", "-am", "two")
    second = _git(work, "rev-parse", "HEAD")
    _git(work, "push", "-q", str(bare), "main", "v1")
    return bare, {"first": first, "second": second}


def test_a_real_branch_and_annotated_tag_resolve_to_commits(
        bare_repo: tuple[Path, dict[str, str]]) -> None:
    bare, commits = bare_repo
    assert resolve_ref(str(bare), "main") == commits["second"]
    assert resolve_ref(str(bare), "v1") == commits["first"]  # the commit, not the tag object


def test_a_real_repository_without_the_name_is_bad_input(
        bare_repo: tuple[Path, dict[str, str]]) -> None:
    with pytest.raises(BadInput, match="'v9'"):
        resolve_ref(str(bare_repo[0]), "v9")


def test_a_missing_local_repository_is_unreachable(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    with pytest.raises(OperationFailed, match="cannot reach"):
        resolve_ref(str(tmp_path / "absent.git"), "main")
