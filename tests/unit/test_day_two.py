"""Day two, pure parts: plan details and cost, status flags, retention, graph, messages."""

from __future__ import annotations

from argos_cloud.cli.views.graph import to_dot, to_mermaid
from argos_cloud.discovery import ActualState
from argos_cloud.engine.journal import JournalEntry
from argos_cloud.plan.types import Action, Actual, Detail, Resource
from argos_cloud.planning import build_plan
from argos_cloud.workflows.graph import graph_of
from argos_cloud.workflows.notify import message
from argos_cloud.workflows.status import NO_COMMIT, OLDER_IMAGE, OTHER_COMMIT, instance_flags

RULE = {"protocol": "tcp", "from": 80, "to": 80, "source": "sg:lb"}


def asg(desired: int) -> Resource:
    return Resource("auto_scaling_group", "app", "argos-qa-app", {
        "launch_template": "launch_template.app", "min_size": 1, "max_size": 4,
        "desired": desired, "subnets": ["subnet-1"], "target_group": None,
        "health_check_type": "EC2"}, needs=("launch_template.app",))


def lt(itype: str) -> Resource:
    return Resource("launch_template", "app", "argos-qa-app", {
        "image": "image.image", "instance_type": itype, "security_group": "sg-1",
        "volume_size": 16, "user_data_digest": "d", "key_name": None})


def plan_of(desired: list[Resource], actual: dict[str, list[Actual]]):  # type: ignore[no-untyped-def]
    return build_plan(desired, ActualState(actual), project="argos", environment="qa")


def test_an_update_shows_old_and_new_values_and_the_cost_moves() -> None:
    have_asg = Actual("auto_scaling_group", "app", "argos-qa-app", "argos-qa-app", {}, {
        "min_size": 1, "max_size": 4, "desired": 1, "instances": [{"id": "i-1"}],
        "launch_template": "launch_template.app", "launch_template_version": "$Default",
        "target_groups": [], "subnets": ["subnet-1"], "health_check_type": "EC2"})
    have_lt = Actual("launch_template", "app", "lt-1", "argos-qa-app", {}, {
        "instance_type": "t3.small", "image_id": "ami-1", "security_groups": ["sg-1"],
        "volume_size": 16, "user_data_digest": "d", "key_name": None})
    plan = plan_of([lt("t3.small"), asg(3)], {"launch_template": [have_lt],
                                              "auto_scaling_group": [have_asg]})
    change = {c.address: c for c in plan.changes}["auto_scaling_group.app"]
    assert change.action is Action.UPDATE
    assert change.details == (Detail("desired", 1, 3),)
    assert change.to_json()["details"] == [{"field": "desired", "before": 1, "after": 3}]
    assert plan.cost is not None
    assert round(plan.cost.before, 4) == 0.0208 and round(plan.cost.after, 4) == 0.0624


def test_a_create_shows_its_values_and_an_unknown_type_is_named_not_priced() -> None:
    plan = plan_of([lt("x9.huge"), asg(2)], {})
    change = {c.address: c for c in plan.changes}["launch_template.app"]
    assert Detail("instance_type", None, "x9.huge") in change.details
    assert plan.cost is not None
    assert plan.cost.after == 0 and plan.cost.unpriced == ("x9.huge",)
    assert plan.to_json()["cost"]["unpriced_instance_types"] == ["x9.huge"]


def test_a_security_group_change_lists_the_rules_added_and_revoked() -> None:
    want = Resource("security_group", "app", "argos-qa-app", {
        "vpc_id": "vpc-1", "description": "d", "ingress": [RULE]})
    have = Actual("security_group", "app", "sg-1", "argos-qa-app", {}, {
        "vpc_id": "vpc-1", "description": "d", "ingress": [
            {"protocol": "tcp", "from": 22, "to": 22, "source": "cidr:198.51.100.0/24"}]})
    change = plan_of([want], {"security_group": [have]}).changes[0]
    assert [d.text() for d in change.details] == ["+ ingress = tcp 80 from sg:lb",
                                                  "- ingress = tcp 22 from cidr:198.51.100.0/24"]


def test_status_flags_members_on_another_commit_or_an_older_image_only() -> None:
    assert instance_flags("app", "g", "a", "ami-1", "a", "ami-1") == ()
    assert instance_flags("app", "g", "b", "ami-0", "a", "ami-1") == (OTHER_COMMIT, OLDER_IMAGE)
    assert instance_flags("worker", "g", None, "ami-1", "a", "ami-1") == (NO_COMMIT,)
    assert instance_flags("database", None, None, "ami-0", "a", "ami-1") == ()
    assert instance_flags("app", "g", None, "ami-1", None, "ami-1") == ()  # nothing deployed


def test_retention_keeps_the_snapshot_just_taken_then_the_newest() -> None:
    from argos_cloud.kinds.volume import beyond_retention

    snaps = [{"SnapshotId": f"snap-{i}", "StartTime": f"2026-01-0{i}T00:00:00Z", "Tags": []}
             for i in range(1, 5)]
    assert [s["SnapshotId"] for s in beyond_retention(snaps, 1, ("snap-4",))] == [
        "snap-3", "snap-2", "snap-1"]
    assert [s["SnapshotId"] for s in beyond_retention(snaps, 2)] == ["snap-2", "snap-1"]
    assert beyond_retention(snaps, 5) == []


def test_the_graph_has_a_node_per_resource_marked_with_its_action_and_edges_from_needs() -> None:
    have = Actual("security_group", "broker", "sg-9", "argos-qa-broker", {}, {})
    plan = plan_of([lt("t3.small"), asg(1)], {"security_group": [have]})
    g = graph_of(plan)
    marks = {n.address: n.mark for n in g.nodes}
    assert marks == {"launch_template.app": "create", "auto_scaling_group.app": "create",
                     "security_group.broker": "delete"}
    assert g.edges == (("launch_template.app", "auto_scaling_group.app"),)
    dot = to_dot(g)
    assert 'subgraph "cluster_app"' in dot and "n_launch_template_app -> " in dot
    assert "n_auto_scaling_group_app" in to_mermaid(g)


def test_a_notification_carries_the_facts_and_never_the_detail() -> None:
    entry = JournalEntry(id="1", at="2026-12-02T10:00:00Z", who="ops@build", command="deploy",
                         result="failed", commit="a" * 40, failed_step="app batch 1/2",
                         detail="password=hunter2", finished="2026-12-02T10:01:05Z")
    body = message("argos", "qa", entry, "http://lb/")
    assert body["duration_seconds"] == 65 and body["failed_step"] == "app batch 1/2"
    assert body["who"] == "ops@build" and body["url"] == "http://lb/"
    assert "hunter2" not in str(body) and "deploy of argos/qa failed" in body["text"]
