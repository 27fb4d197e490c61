"""Values spelled twice, where one side cannot import the other, agree."""

from __future__ import annotations

import re
from pathlib import Path

from argos_cloud.kinds.account import HOSTS_BASE_TAG
from argos_cloud.model.desired import BROKER_PORTS, DATA_DEVICE, DATABASE_PORT
from argos_cloud.sandbox.hosts.backend import BASE_TAG

SALT = Path(__file__).resolve().parents[2] / "src" / "argos_cloud" / "salt"
STATES = SALT / "states"


def test_the_data_device_script_defaults_to_the_models_device() -> None:
    """The pillar passes the device; the script's own default is for a run by hand."""
    script = (STATES / "database" / "files" / "argos-data-device").read_text()
    default = re.search(r'want="\$\{1:-([^}]+)\}"', script)
    assert default is not None and default.group(1) == DATA_DEVICE


def test_the_database_state_takes_the_device_from_the_pillar() -> None:
    state = (STATES / "database" / "init.sls").read_text()
    assert "argos-data-device {{ db.data_device }}" in state


def test_the_tree_spells_no_port_but_the_pillars() -> None:
    """Redis reads its port from the pillar; PostgreSQL and RabbitMQ keep their
    packages' defaults, which are the model's ports (security groups open those)."""
    ports = {str(p) for p in (DATABASE_PORT, *BROKER_PORTS.values())}
    for path in STATES.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not [p for p in ports if re.search(rf"\b{p}\b", text)], path
    redis = (STATES / "broker" / "files" / "redis.conf").read_text()
    assert "port {{ pillar['argos']['broker']['port'] }}" in redis
    assert (DATABASE_PORT, BROKER_PORTS["rabbitmq"]) == (5432, 5672)  # the packages' defaults


def test_account_discovery_looks_for_the_tag_the_hosts_sandbox_puts_on_its_base_image() -> None:
    """The sandbox imports nothing of the tool, so the tag is spelled twice."""
    assert HOSTS_BASE_TAG == BASE_TAG
