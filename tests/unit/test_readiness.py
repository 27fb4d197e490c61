"""The master's readiness wait: probed until ready, bounded, and stopped by a failed user data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from argos_cloud.clock import FakeClock
from argos_cloud.model.names import Scope
from argos_cloud.provision.remote import FakeExecutor, InvocationResult
from argos_cloud.workflows import readiness
from argos_cloud.workflows.readiness import (
    BROKEN,
    READY,
    WAITING,
    MasterNotReady,
    probe_commands,
    wait_master_ready,
)
from argos_cloud.workflows.session import Session

MASTER = "i-0master"


@dataclass
class Stub:
    """What the wait reads of a session."""

    emulated: bool = False
    clock: FakeClock = field(default_factory=FakeClock)
    scope: Scope = field(default_factory=lambda: Scope("argos", "qa"))
    events: list[str] = field(default_factory=list)

    def on_event(self, step: str, message: str) -> None:
        self.events.append(message)


def answers(*outputs: str | InvocationResult) -> FakeExecutor:
    queue = list(outputs)

    def respond(instance_id: str, commands: list[str]) -> str | InvocationResult:
        assert instance_id == MASTER and commands == probe_commands()
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return FakeExecutor(respond=respond)


def as_session(stub: Stub) -> Session:
    return cast(Session, cast(Any, stub))


def test_the_wait_asks_again_with_backoff_until_the_master_is_ready() -> None:
    stub = Stub()
    executor = answers(f"{WAITING} Salt is not installed yet (cloud-init: running)",
                       f"{WAITING} salt-master is not running (cloud-init: running)", READY)
    assert wait_master_ready(as_session(stub), executor, MASTER) == 3
    assert stub.clock.slept == [5.0, 7.5]
    assert "Salt is not installed yet" in stub.events[0]
    assert stub.events[-1] == f"the master {MASTER} is ready"


def test_a_ready_master_costs_one_probe_and_no_wait() -> None:
    stub = Stub()
    assert wait_master_ready(as_session(stub), answers(READY), MASTER) == 1
    assert stub.clock.slept == [] and stub.events == []


def test_a_failed_user_data_stops_the_wait_at_once_with_its_log() -> None:
    stub = Stub()
    executor = answers(f"{BROKEN} Salt is not installed yet; its user data failed\n"
                       "pip: error: no space left on device\n")
    with pytest.raises(MasterNotReady, match="no space left on device") as failure:
        wait_master_ready(as_session(stub), executor, MASTER)
    assert "cannot run a deploy" in str(failure.value) and len(executor.sent) == 1


def test_a_master_never_ready_fails_after_the_timeout_naming_the_last_reason() -> None:
    stub = Stub()
    executor = answers(f"{WAITING} salt-master does not answer (salt-run manage.up)")
    with pytest.raises(MasterNotReady, match=r"not ready after 600 s: salt-master does not "
                                             r"answer"):
        wait_master_ready(as_session(stub), executor, MASTER, timeout=600)
    assert sum(stub.clock.slept) == pytest.approx(600)
    assert max(stub.clock.slept) <= 30.0 and len(executor.sent) > 3


def test_a_failed_delivery_or_no_verdict_is_a_reason_to_ask_again() -> None:
    stub = Stub()
    executor = answers(InvocationResult(MASTER, "Failed", "", "sh: 1: boom", 1), "", READY)
    assert wait_master_ready(as_session(stub), executor, MASTER) == 3
    assert "ended Failed: sh: 1: boom" in stub.events[0]
    assert "printed no verdict" in stub.events[1]


def test_the_emulator_is_not_asked() -> None:
    stub = Stub(emulated=True)
    executor = answers(READY)
    assert wait_master_ready(as_session(stub), executor, MASTER) == 0
    assert executor.sent == []


def test_the_probe_checks_salt_the_master_service_the_tree_and_an_answer() -> None:
    script = "\n".join(probe_commands())
    assert "/opt/salt/bin/python -c 'import salt.version, boto3'" in script
    assert "systemctl is-active --quiet salt-master" in script
    assert "/opt/salt/bin/salt-run --out=json -t 5 manage.up" in script
    assert "cloud-init status" in script and readiness.USER_DATA_LOG in script
    assert "set -e" not in script  # a "no" is a verdict on stdout, never an exit code


def test_commission_says_the_environment_is_built_when_its_master_never_got_ready(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from argos_cloud.workflows import commission, deploy

    def never(*_: Any, **__: Any) -> None:
        raise MasterNotReady(f"the master {MASTER} was not ready after 1800 s: salt-master "
                             "is not running; see /var/log/argos-user-data.log on it, then "
                             "run deploy again")

    monkeypatch.setattr(deploy, "first_deploy", never)
    session = SimpleNamespace(spec=SimpleNamespace(source=SimpleNamespace(ref="main")),
                              notes=[])
    prepared = SimpleNamespace(commit="a" * 40)
    with pytest.raises(commission.CommissionFailed, match=(
            "the environment is built, but its first deploy could not start: the master "
            f"{MASTER} was not ready")):
        commission._first_deploy(cast(Any, session), cast(Any, prepared), cast(Any, None),
                                 None, None, None, cast(Any, None))
