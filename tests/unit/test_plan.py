"""Plan: desired × actual → changes with reasons; duplicates and strays become deletes."""

from __future__ import annotations

from argos_cloud.discovery import ActualState
from argos_cloud.plan.types import Action, Actual, Resource
from argos_cloud.planning import build_plan

RULES = [{"protocol": "tcp", "from": 80, "to": 80, "source": "sg:lb"}]


def sg(role: str, rules: list[dict[str, object]] | None = None) -> Resource:
    return Resource("security_group", role, f"argos-qa-{role}", {
        "vpc_id": "vpc-1", "description": f"argos-cloud argos-qa-{role}",
        "ingress": rules if rules is not None else RULES})


def found(role: str, gid: str, rules: list[dict[str, object]] | None = None,
          vpc: str = "vpc-1") -> Actual:
    return Actual("security_group", role, gid, f"argos-qa-{role}", {}, {
        "vpc_id": vpc, "description": f"argos-cloud argos-qa-{role}",
        "ingress": rules if rules is not None else RULES})


def plan_of(desired: list[Resource], actual: list[Actual]):  # type: ignore[no-untyped-def]
    state = ActualState({"security_group": actual})
    return build_plan(desired, state, project="argos", environment="qa")


def test_missing_is_created_and_matching_is_a_noop_with_a_reason() -> None:
    plan = plan_of([sg("app"), sg("lb", [])], [found("lb", "sg-1", [])])
    actions = {c.address: (c.action, c.reason) for c in plan.changes}
    assert actions["security_group.app"] == (Action.CREATE, "does not exist")
    assert actions["security_group.lb"][0] is Action.NOOP
    assert "match" in actions["security_group.lb"][1]


def test_changed_rules_update_and_a_changed_vpc_replaces() -> None:
    plan = plan_of([sg("app"), sg("lb", [])],
                   [found("app", "sg-1", []), found("lb", "sg-2", [], vpc="vpc-2")])
    actions = {c.address: c for c in plan.changes}
    assert actions["security_group.app"].action is Action.UPDATE
    assert "1 to add" in actions["security_group.app"].reason
    assert actions["security_group.lb"].action is Action.REPLACE
    assert actions["security_group.lb"].fields == ("vpc_id",)


def test_a_twin_and_a_stray_are_deleted() -> None:
    plan = plan_of([sg("app")], [found("app", "sg-1"), found("app", "sg-2"),
                                 found("broker", "sg-3", [])])
    deletes = {(c.address, c.before.id if c.before else None, c.reason)
               for c in plan.changes if c.action is Action.DELETE}
    assert deletes == {("security_group.app", "sg-2", "duplicate of sg-1"),
                       ("security_group.broker", "sg-3", "not in the configuration")}


def test_records_and_old_images_are_never_planned_for_deletion() -> None:
    record = Actual("parameter", "record", "/argos-cloud/argos/qa/lock", "lock", {}, {},
                    key="lock")
    old_image = Actual("image", "image", "ami-1", "argos-image-old", {}, {})
    state = ActualState({"parameter": [record], "image": [old_image]})
    plan = build_plan([], state, project="argos", environment="qa")
    assert plan.changes == ()


def test_plan_json_has_the_fields_tools_read() -> None:
    plan = plan_of([sg("app")], [])
    body = plan.to_json()
    assert body["actions"][0].keys() >= {"action", "kind", "role", "name", "reason"}
    assert body["summary"]["create"] == 1 and not plan.empty
    assert plan_of([sg("app")], [found("app", "sg-1")]).empty


def _lt(image_id: str) -> tuple[Resource, Actual]:
    want = Resource("launch_template", "app", "argos-qa-app", {
        "image": "image.image", "instance_type": "t3.small", "volume_size": 16,
        "security_group": "security_group.app", "instance_profile": "instance_profile.shared",
        "user_data": "x", "user_data_digest": "d", "key_name": None})
    have = Actual("launch_template", "app", "lt-1", "argos-qa-app", {}, {
        "image_id": image_id, "instance_type": "t3.small", "user_data_digest": "d",
        "security_groups": ["sg-app"], "volume_size": 16, "key_name": None,
        "http_tokens": "required"})
    return want, have


def test_a_new_image_bake_gives_the_launch_template_a_new_version() -> None:
    want, have = _lt("ami-old")
    image = Resource("image", "image", "argos-image-new", {"digest": "new"})
    old_image = Actual("image", "image", "ami-old", "argos-image-old", {}, {})
    state = ActualState({"image": [old_image], "launch_template": [have],
                         "security_group": [found("app", "sg-app")]})
    plan = build_plan([image, sg("app"), want], state, project="argos", environment="qa")
    lt = next(c for c in plan.changes if c.address == "launch_template.app")
    assert lt.action is Action.UPDATE and "image.image" in lt.reason
    assert lt.after is not None and lt.after.spec["image"] == "image.image"


def test_a_template_on_an_older_existing_image_is_updated_and_a_current_one_is_not() -> None:
    image = Resource("image", "image", "argos-image-cur", {"digest": "cur"})
    current = Actual("image", "image", "ami-cur", "argos-image-cur", {}, {"digest": "cur",
                                                                          "state": "available"})
    for lt_image, expected in (("ami-old", Action.UPDATE), ("ami-cur", Action.NOOP)):
        want, have = _lt(lt_image)
        state = ActualState({"image": [current], "launch_template": [have],
                             "security_group": [found("app", "sg-app")]})
        plan = build_plan([image, sg("app"), want], state, project="argos", environment="qa")
        lt = next(c for c in plan.changes if c.address == "launch_template.app")
        assert lt.action is expected, (lt_image, lt.reason)
