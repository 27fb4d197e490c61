"""`scale` on moto: at once, within or outside the range, kept by plan until the config moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.config import load_environment
from argos_cloud.config.overrides import RunOverrides
from argos_cloud.errors import BadInput, Refused
from argos_cloud.workflows.commission import execute, prepare
from argos_cloud.workflows.scale import SCALE_LEAF, new_sizes, parse_targets, read_record, scale
from argos_cloud.workflows.session import Session
from argos_cloud.workflows.status import status
from tests.aws.commission_env import open_env

pytestmark = pytest.mark.aws


@pytest.fixture(autouse=True)
def _managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def commissioned(aws: Clients, tmp: Path, extra: str = "") -> Session:
    session = open_env(aws, tmp, extra=extra)
    prepared = prepare(session)
    execute(session, prepared)
    return session


def sizes(aws: Clients, role: str) -> tuple[int, int, int]:
    group = aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[f"argos-qa-{role}"])["AutoScalingGroups"][0]
    return group["MinSize"], group["MaxSize"], group["DesiredCapacity"]


def pending(session: Session, **kwargs: object) -> dict[str, str]:
    return {c.address: c.reason for c in prepare(session, **kwargs).plan.pending}  # type: ignore[arg-type]


def test_targets_and_ranges_are_checked_before_anything() -> None:
    assert parse_targets(["app=3", "worker=0"]) == {"app": 3, "worker": 0}
    for bad in (["database=2"], ["app"], ["app=-1"], ["app=1", "app=2"], [], ["app=1001"]):
        with pytest.raises(BadInput):
            parse_targets(bad)
    assert new_sizes("app", (1, 2, 1), 2) == (1, 2, 2)
    assert new_sizes("app", (1, 2, 1), 5, max_size=6) == (1, 6, 5)
    assert new_sizes("app", (1, 2, 1), 0, min_size=0) == (0, 2, 0)
    with pytest.raises(BadInput, match=r"app=5 is outside the group's range 1-2: give --max 5"):
        new_sizes("app", (1, 2, 1), 5)
    with pytest.raises(BadInput, match="--min 0"):
        new_sizes("app", (1, 2, 1), 0)


def test_a_scale_within_the_range_is_set_at_once_and_plan_keeps_it(
        aws: Clients, tmp_path: Path) -> None:
    session = commissioned(aws, tmp_path)
    result = scale(session, {"app": 2})
    assert result.changes == (("app", (1, 2, 1), (1, 2, 2)),)
    assert sizes(aws, "app") == (1, 2, 2)
    assert "auto_scaling_group.app" not in pending(session)  # the environment's, not drift
    assert any(n.startswith("scaled: app=2") for n in session.notes)
    report = status(session)
    assert [(s["role"], s["desired"], s["in_force"]) for s in report.scales] == [
        ("app", 2, True)]
    entry = session.journal().entries(1)[0]
    assert (entry.command, entry.result) == ("scale", "succeeded")
    assert entry.detail == "app 1→2 (range 1-2)"


def test_outside_the_range_is_refused_unless_max_moves_it_too(
        aws: Clients, tmp_path: Path) -> None:
    session = commissioned(aws, tmp_path)
    with pytest.raises(BadInput, match="range 1-2"):
        scale(session, {"app": 4})
    assert sizes(aws, "app") == (1, 2, 1)
    assert read_record(session) == {}
    assert session.journal().entries(1)[0].command == "commission"  # refused: no entry
    scale(session, {"app": 4, "worker": 2}, max_size=5)
    assert sizes(aws, "app") == (1, 5, 4) and sizes(aws, "worker") == (1, 5, 2)
    assert not {"auto_scaling_group.app", "auto_scaling_group.worker"} & set(pending(session))


def test_the_config_wins_once_its_sizes_change_and_commission_forgets_the_scale(
        aws: Clients, tmp_path: Path) -> None:
    session = commissioned(aws, tmp_path)
    scale(session, {"app": 2})
    config = session.spec.config_path
    config.write_text(config.read_text().replace(
        "[app]\ninstance_type = \"t3.small\"\nvolume_size = 16\nmin_size = 1\nmax_size = 2\n"
        "desired = 1", "[app]\ninstance_type = \"t3.small\"\nvolume_size = 16\nmin_size = 1\n"
        "max_size = 3\ndesired = 3"))
    moved = Session(spec=load_environment(config, "qa", environ={"ARGOS_CLOUD_PROVIDER": "aws"}),
                    clients=aws, state_dir=session.state_dir, clock=session.clock)
    assert moved.spec.app.desired == 3
    todo = pending(moved)
    assert "auto_scaling_group.app" in todo and "desired" in todo["auto_scaling_group.app"]
    assert any(n.startswith("scale superseded") for n in moved.notes)
    execute(moved, prepare(moved))
    assert sizes(aws, "app") == (1, 3, 3)
    assert read_record(moved) == {}
    assert aws.ssm.describe_parameters(ParameterFilters=[
        {"Key": "Name", "Values": [moved.scope.parameter(SCALE_LEAF)]}])["Parameters"] == []


def test_a_scale_keeps_the_other_groups_record(aws: Clients, tmp_path: Path) -> None:
    session = commissioned(aws, tmp_path)
    scale(session, {"worker": 2})
    scale(session, {"app": 2})
    assert sorted(read_record(session)) == ["app", "worker"]
    assert prepare(session).plan.empty


def test_an_environment_without_groups_is_refused(aws: Clients, tmp_path: Path) -> None:
    session = open_env(aws, tmp_path)
    with pytest.raises(Refused, match="run commission first"):
        scale(session, {"app": 1})


def test_the_seeds_sizes_apply_to_one_run_over_the_config_and_a_scale(
        aws: Clients, tmp_path: Path) -> None:
    session = open_env(aws, tmp_path)
    execute(session, prepare(session, overrides=RunOverrides(min_size=2, max_size=3,
                                                              instance_type="t3.medium")))
    assert sizes(aws, "app") == (2, 3, 2)
    template = aws.ec2.describe_launch_template_versions(
        LaunchTemplateName="argos-qa-app", Versions=["$Default"])["LaunchTemplateVersions"][0]
    assert template["LaunchTemplateData"]["InstanceType"] == "t3.medium"
    assert prepare(session, overrides=RunOverrides(min_size=2, max_size=3,
                                                   instance_type="t3.medium")).plan.empty
    back = pending(session)  # without the flags: the config's sizes and type again
    assert {"auto_scaling_group.app", "launch_template.app"} <= set(back)
