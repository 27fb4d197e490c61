"""Kinds own their rules: references compared by id, one shape, no kind named elsewhere."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import argos_cloud
from argos_cloud.discovery import ActualState
from argos_cloud.kinds import KIND_NAMES, kind_module
from argos_cloud.plan.references import Reference, Target, drifts, target_ids
from argos_cloud.plan.types import Action, Actual, Change, Resource
from argos_cloud.planning import build_plan
from argos_cloud.workflows.decommission import (
    plan_decommission,
    teardown_graph,
    verify,
    walk_teardown,
)

PACKAGE = Path(argos_cloud.__file__).parent


def group(role: str) -> Resource:
    return Resource("security_group", role, f"argos-qa-{role}", {
        "vpc_id": "vpc-1", "description": f"argos-cloud argos-qa-{role}", "ingress": []})


def found_group(role: str, gid: str, vpc: str = "vpc-1") -> Actual:
    return Actual("security_group", role, gid, f"argos-qa-{role}", {}, {
        "vpc_id": vpc, "description": f"argos-cloud argos-qa-{role}", "ingress": []})


BALANCER = Resource("load_balancer", "app", "argos-qa-app", {
    "security_group": "security_group.lb", "subnets": ["subnet-1"],
    "scheme": "internet-facing"}, needs=("security_group.lb",))


def balancer_found(groups: list[str]) -> Actual:
    return Actual("load_balancer", "app", "arn:lb", "argos-qa-app", {}, {
        "security_groups": groups, "subnets": ["subnet-1"], "scheme": "internet-facing"})


def change_of(desired: list[Resource], actual: dict[str, list[Actual]], address: str) -> Change:
    plan = build_plan(desired, ActualState(actual), project="argos", environment="qa")
    return next(c for c in plan.changes if c.address == address)


def test_a_balancer_on_another_group_is_an_update_naming_the_reference() -> None:
    lb = change_of([group("lb"), BALANCER], {"security_group": [found_group("lb", "sg-lb")],
                                             "load_balancer": [balancer_found(["sg-hand"])]},
                   "load_balancer.app")
    assert lb.action is Action.UPDATE and lb.fields == ("security_group",)
    assert "security_group.lb (sg-lb)" in lb.reason and "sg-hand" in lb.reason


def test_a_balancer_on_its_own_group_is_a_noop() -> None:
    lb = change_of([group("lb"), BALANCER], {"security_group": [found_group("lb", "sg-lb")],
                                             "load_balancer": [balancer_found(["sg-lb"])]},
                   "load_balancer.app")
    assert lb.action is Action.NOOP, lb.reason


def test_a_group_made_anew_moves_its_users_with_it() -> None:
    lb = change_of([group("lb"), BALANCER],
                   {"security_group": [found_group("lb", "sg-lb", vpc="vpc-old")],
                    "load_balancer": [balancer_found(["sg-lb"])]}, "load_balancer.app")
    assert lb.action is Action.UPDATE and "will be replaced" in lb.reason


def test_a_reference_that_belongs_to_its_target_is_replaced_with_it() -> None:
    want = Resource("listener", "app", "argos-qa-app-http", {
        "load_balancer": "load_balancer.app", "target_group": "target_group.app",
        "port": 80, "protocol": "HTTP"})
    have = Actual("listener", "app", "arn:l", "argos-qa-app-http", {}, {
        "port": 80, "protocol": "HTTP", "target_group": "target_group.app",
        "target_group_arn": "arn:tg", "load_balancer": "load_balancer.app",
        "load_balancer_arn": "arn:other-lb"})
    found = drifts(want, have, kind_module("listener").DECLARED.references,
                   target_ids({"load_balancer.app": "arn:lb", "target_group.app": "arn:tg"}.get))
    assert [(d.key, d.action) for d in found] == [("load_balancer", Action.REPLACE)]


def test_what_exists_without_the_attribute_is_not_drift() -> None:
    want = Resource("thing", "app", "x", {"ref": "other.app"})
    have = Actual("thing", "app", "x-1", "x", {}, {})
    refs = (Reference("ref", "ref_id"),)
    assert drifts(want, have, refs, lambda a: Target(a, "id-1")) == []


@pytest.mark.parametrize("name", KIND_NAMES)
def test_every_kind_declares_its_shape(name: str) -> None:
    module = kind_module(name)
    assert name == module.KIND
    spec_keys = {r.key for r in module.DECLARED.references}
    assert len(spec_keys) == len(module.DECLARED.references)
    assert set(module.DECLARED.teardown.after) <= set(KIND_NAMES)
    assert set(module.DECLARED.teardown.unlink_after or ()) <= set(KIND_NAMES)


def test_the_teardown_order_follows_the_kinds_declarations() -> None:
    actuals = [Actual(k, "app", f"{k}-1", k) for k in KIND_NAMES]
    graph = teardown_graph(actuals)
    for name in KIND_NAMES:
        for first in kind_module(name).DECLARED.teardown.after:
            assert f"{first}.app" in graph.ancestors(f"{name}.app"), (first, name)


def _literals(text: str) -> set[str]:
    return set(re.findall(r"[\"']([a-z_]+)[\"']", text))


def test_no_kind_is_named_in_plan_the_planner_or_the_teardown() -> None:
    sources = {p.name: p.read_text() for p in (PACKAGE / "plan").glob("*.py")}
    sources["planning.py"] = (PACKAGE / "planning.py").read_text()
    for step in (teardown_graph, plan_decommission, walk_teardown, verify):
        sources[step.__name__] = inspect.getsource(step)
    named = {where: _literals(text) & set(KIND_NAMES) for where, text in sources.items()}
    assert {where: kinds for where, kinds in named.items() if kinds} == {}


def test_references_are_resolved_whatever_the_order_of_the_desired_resources() -> None:
    lb = change_of([BALANCER, group("lb")], {"security_group": [found_group("lb", "sg-lb")],
                                             "load_balancer": [balancer_found(["sg-hand"])]},
                   "load_balancer.app")
    assert lb.action is Action.UPDATE and lb.fields == ("security_group",)
