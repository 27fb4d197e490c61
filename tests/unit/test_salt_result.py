"""Judging a Salt run from its JSON alone: failed states, silent minions, render errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from argos_cloud.provision.remote import InvocationResult
from argos_cloud.provision.salt_result import check, command_problems, from_mapping, parse

OK_STATE = {"result": True, "comment": "Package nginx is installed", "changes": {}}
PKG = "pkg_|-nginx_|-nginx_|-installed"
GIT = "git_|-app_source_|-https://example.invalid/app.git_|-latest"


def applied(*, failed: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {PKG: dict(OK_STATE)}
    out[GIT] = {"result": not failed, "comment": "fatal: reference is not a tree: abc",
                "__id__": "app_source", "changes": {}}
    return out


# (name, salt output, expected minions, problems)
CASES: list[tuple[str, Any, set[str], list[str]]] = [
    ("all applied (--static)", {"m1": applied(), "m2": applied()}, {"m1", "m2"}, []),
    ("full_return envelope", {"m1": {"ret": applied(), "retcode": 0, "jid": "1"}}, {"m1"}, []),
    ("a failed state names minion and state",
     {"m1": applied(), "m2": applied(failed=True)}, {"m1", "m2"},
     ["m2: state app_source (git.latest) failed: fatal: reference is not a tree: abc"]),
    ("a silent minion is named", {"m1": applied()}, {"m1", "m2"}, ["m2 did not answer"]),
    ("no minion answered at all", {}, {"m1"}, ["m1 did not answer"]),
    ("a render error (list instead of dict)",
     {"m1": ["Rendering SLS 'base:app' failed: mapping values are not allowed"]}, {"m1"},
     ["m1: Rendering SLS 'base:app' failed: mapping values are not allowed"]),
    ("render error inside full_return",
     {"m1": {"ret": ["Pillar failed to render"], "retcode": 5}}, {"m1"},
     ["m1: Pillar failed to render"]),
    ("did-not-return string", {"m1": "Minion did not return. [No response]"}, {"m1"},
     ["m1: Minion did not return. [No response]"]),
    ("a non-zero retcode with clean states is still a failure",
     {"m1": {"ret": applied(), "retcode": 2}}, {"m1"}, ["m1: Salt returned retcode 2"]),
    ("an answer without any state result", {"m1": {}}, {"m1"},
     ["m1: answered with no state result"]),
    ("None (test mode) is not a failure",
     {"m1": {PKG: {"result": None, "comment": "would install"}}}, {"m1"}, []),
    ("an unexpected minion that failed is reported too",
     {"m1": applied(), "x9": applied(failed=True)}, {"m1"},
     ["x9: state app_source (git.latest) failed: fatal: reference is not a tree: abc"]),
]


@pytest.mark.parametrize(("output", "expected", "problems"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_check(output: Any, expected: set[str], problems: list[str]) -> None:
    assert check(from_mapping(output), expected) == problems
    assert check(parse(json.dumps(output, indent=4)), expected) == problems


def test_minion_results_carry_the_details() -> None:
    run = from_mapping({"m1": {"ret": applied(failed=True), "retcode": 2}})
    result = run.minions["m1"]
    assert (result.ok, result.retcode, result.states) == (False, 2, 2)
    assert result.failed_states == [("app_source (git.latest)",
                                     "fatal: reference is not a tree: abc")]


def test_one_document_per_minion_without_static_is_merged() -> None:
    text = json.dumps({"m1": applied()}, indent=4) + "\n" + json.dumps({"m2": applied()},
                                                                       indent=4)
    assert parse(text).answered == {"m1", "m2"}


def test_non_json_master_text_means_nobody_answered() -> None:
    run = parse("Salt request timed out. The master is not responding.\n")
    assert run.answered == set()
    assert check(run, {"m1"}) == ["m1 did not answer"]


def test_a_truncated_document_never_yields_inner_objects_as_minions() -> None:
    text = json.dumps({"m1": applied()}, indent=4)[:-40]
    assert parse(text).answered == set()


def test_warnings_before_the_document_are_skipped() -> None:
    text = "[WARNING ] something deprecated\n" + json.dumps({"m1": applied()})
    assert check(parse(text), {"m1"}) == []


def test_command_problems_treat_empty_output_as_failure_and_ignore_the_exit_code() -> None:
    empty = InvocationResult("i-master", "Success", "", "", 0)
    assert command_problems(empty, ["m1"]) == [
        "no Salt output from the master (command Success, exit 0)"]
    failed_but_zero = InvocationResult("i-master", "Success",
                                       json.dumps({"m1": applied(failed=True)}), "", 0)
    assert command_problems(failed_but_zero, ["m1"]) == [
        "m1: state app_source (git.latest) failed: fatal: reference is not a tree: abc"]
    broke = InvocationResult("i-master", "Failed", "", "tar: Error is not recoverable\n", 2)
    assert command_problems(broke, ["m1"])[-1] == (
        "the command on the master ended Failed (exit 2): tar: Error is not recoverable")
    assert command_problems(None, ["m1"]) == ["the master never reported the command's outcome"]
