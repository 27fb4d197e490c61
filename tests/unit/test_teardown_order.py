"""The teardown order, asserted on the step graph: moto would delete in any order."""

from __future__ import annotations

import pytest

from argos_cloud.engine.graph import StepGraph
from argos_cloud.plan.types import Actual
from argos_cloud.workflows.decommission import (
    REVOKE_STEP,
    SNAPSHOT_STEP,
    step_names,
    teardown_graph,
)


def a(kind: str, role: str, ident: str = "", key: str = "") -> Actual:
    return Actual(kind, role, ident or f"{kind}-{role}-{key}", f"argos-qa-{role}", key=key)


def full_environment() -> list[Actual]:
    out = [a("security_group", r) for r in ("lb", "master", "database", "broker", "app",
                                            "worker")]
    out += [a("instance", r) for r in ("master", "database", "broker")]
    out += [a("volume", "database", key="data")]
    out += [a(kind, r) for r in ("app", "worker")
            for kind in ("launch_template", "auto_scaling_group", "scaling_policy")]
    out += [a("target_group", "app"), a("load_balancer", "app"), a("listener", "app")]
    out += [a("iam_role", "shared"), a("instance_profile", "shared"), a("key_pair", "shared"),
            a("bucket", "shared"), a("bundle", "shared")]
    out += [a("parameter", "shared", key=k) for k in ("database-password", "secret-key")]
    out += [a("parameter", "record", key="history/20260101T000000Z-abcd")]
    return out


@pytest.fixture
def graph() -> StepGraph:
    return teardown_graph(full_environment(), final_snapshot=True)


def before(graph: StepGraph, first: str, then: str) -> bool:
    """True when `then` cannot start until `first` is done (directly or not)."""
    return first in graph.ancestors(then)


@pytest.mark.parametrize("group", ["lb", "master", "database", "broker", "app", "worker"])
def test_no_security_group_is_deleted_before_what_uses_it(graph: StepGraph, group: str) -> None:
    step = f"security_group.{group}"
    users = [f"instance.{r}" for r in ("master", "database", "broker")]
    users += [f"auto_scaling_group.{r}" for r in ("app", "worker")]
    users += ["load_balancer.app", "listener.app", REVOKE_STEP]
    for user in users:
        assert before(graph, user, step), f"{step} could go before {user}"


def test_every_cross_reference_is_revoked_after_the_users_and_before_any_group(
        graph: StepGraph) -> None:
    for user in ("instance.master", "auto_scaling_group.app", "load_balancer.app"):
        assert before(graph, user, REVOKE_STEP)
    groups = [s for s in graph.steps if s.startswith("security_group.")]
    assert groups and all(REVOKE_STEP in graph.needs(g) for g in groups)


@pytest.mark.parametrize("role", ["app", "worker"])
def test_no_launch_template_goes_before_its_group_nor_a_group_before_its_policy(
        graph: StepGraph, role: str) -> None:
    assert before(graph, f"auto_scaling_group.{role}", f"launch_template.{role}")
    assert before(graph, f"scaling_policy.{role}", f"auto_scaling_group.{role}")


def test_the_listener_goes_first_then_the_load_balancer_then_the_target_group(
        graph: StepGraph) -> None:
    assert before(graph, "listener.app", "load_balancer.app")
    assert before(graph, "load_balancer.app", "target_group.app")
    assert before(graph, "auto_scaling_group.app", "target_group.app")


def test_the_data_volume_goes_after_its_final_snapshot_and_its_instance(
        graph: StepGraph) -> None:
    assert before(graph, SNAPSHOT_STEP, "volume.database.data")
    assert before(graph, "instance.database", "volume.database.data")
    assert before(graph, SNAPSHOT_STEP, "instance.database")  # nothing of the database first
    assert graph.needs(SNAPSHOT_STEP) == frozenset()


def test_without_a_final_snapshot_there_is_no_snapshot_step() -> None:
    graph = teardown_graph(full_environment(), final_snapshot=False)
    assert SNAPSHOT_STEP not in graph
    assert before(graph, "instance.database", "volume.database.data")


def test_no_snapshot_step_when_there_is_no_data_volume() -> None:
    actuals = [x for x in full_environment() if x.kind != "volume"]
    assert SNAPSHOT_STEP not in teardown_graph(actuals, final_snapshot=True)


def test_iam_role_goes_after_its_profile_and_everything_that_runs_with_it(
        graph: StepGraph) -> None:
    for first in ("instance_profile.shared", "instance.master", "launch_template.app",
                  "auto_scaling_group.worker"):
        assert before(graph, first, "iam_role.shared")
    for first in ("instance.broker", "launch_template.worker", "auto_scaling_group.app"):
        assert before(graph, first, "instance_profile.shared")
        assert before(graph, first, "key_pair.shared")


def test_parameters_bundle_and_bucket_go_last(graph: StepGraph) -> None:
    last = {s for s in graph.steps if s.split(".")[0] in ("parameter", "bundle", "bucket")}
    for step in last:
        early = (graph.steps - last) - graph.ancestors(step)
        assert not early, f"{step} could go before {sorted(early)}"
    assert before(graph, "bundle.shared", "bucket.shared")


def test_the_image_goes_after_the_groups_and_templates_that_launch_it() -> None:
    graph = teardown_graph([*full_environment(), a("image", "image", "ami-1")])
    for first in ("auto_scaling_group.app", "launch_template.worker"):
        assert before(graph, first, "image.image")


def test_strays_sharing_an_address_get_distinct_steps() -> None:
    actuals = [*full_environment(), a("instance", "master", "i-stray")]
    steps = step_names(actuals)
    assert "instance.master#i-stray" in steps and "instance.master#instance-master-" in steps
    graph = teardown_graph(actuals)
    assert before(graph, "instance.master#i-stray", "security_group.master")


def test_a_partial_environment_gives_a_valid_graph_with_only_its_steps() -> None:
    actuals = [a("security_group", "app"), a("parameter", "shared", key="secret-key")]
    graph = teardown_graph(actuals, final_snapshot=True)
    assert graph.steps == {"security_group.app", REVOKE_STEP, "parameter.shared.secret-key"}
    assert graph.topological_order() == (REVOKE_STEP, "security_group.app",
                                          "parameter.shared.secret-key")


def test_independent_deletes_start_together_in_parallel(graph: StepGraph) -> None:
    ready = {s for s in graph.steps if not graph.needs(s)}
    assert {SNAPSHOT_STEP, "instance.master", "instance.broker", "listener.app",
            "scaling_policy.app", "scaling_policy.worker"} <= ready


def test_an_empty_environment_has_an_empty_graph() -> None:
    assert len(teardown_graph([], final_snapshot=True)) == 0
