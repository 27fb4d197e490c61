"""Throttling, 5xx and lost answers on a share of calls: commission survives or resumes."""

from __future__ import annotations

from pathlib import Path

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.errors import ArgosError
from argos_cloud.sandbox.faults import CallCounter, Faults
from argos_cloud.workflows.commission import execute, prepare
from tests.aws.commission_env import inventory, open_env
from tests.aws.test_commission import EXPECTED

pytestmark = pytest.mark.reliability


@pytest.fixture(autouse=True)
def _managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def test_throttling_and_5xx_on_a_share_of_calls_end_in_the_same_state(
        aws: Clients, tmp_path: Path) -> None:
    faults = Faults()
    faults.add_share(0.15, seed=7, status=503, code="RequestLimitExceeded")
    faults.add_share(0.05, seed=11, status=500, code="InternalError")
    sends = CallCounter()
    faults.attach(aws)
    sends.attach(aws, event="before-send")
    session = open_env(aws, tmp_path)
    execute(session, prepare(session))
    assert sum(faults.injected.values()) > 10  # the faults really happened
    assert inventory(session) == dict.fromkeys(EXPECTED, 1)
    assert prepare(session).plan.empty


def test_a_lost_answer_is_adopted_in_the_same_run_without_a_twin(
        aws: Clients, tmp_path: Path) -> None:
    faults = Faults().attach(aws)
    faults.lose("RunInstances")  # AWS made the instance; we never heard back
    session = open_env(aws, tmp_path)
    execute(session, prepare(session))  # looked up by tag, adopted: no failed run
    assert faults.injected["RunInstances"] == 1
    assert inventory(session) == dict.fromkeys(EXPECTED, 1)


def test_a_failed_step_skips_only_its_dependants(aws: Clients, tmp_path: Path) -> None:
    faults = Faults().attach(aws)
    faults.add("CreateLoadBalancer", status=400, code="ValidationError", times=20)
    session = open_env(aws, tmp_path)
    with pytest.raises(ArgosError) as caught:
        execute(session, prepare(session))
    assert "load_balancer.app" in str(caught.value)
    made = inventory(session)
    assert "instance.master" in made and "auto_scaling_group.worker" in made
    assert "listener.app" not in made and "auto_scaling_group.app" not in made
    faults.clear()
    execute(session, prepare(session))
    assert inventory(session) == dict.fromkeys(EXPECTED, 1)
