"""The desired state is pure and complete: DESIGN §2 from the config alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from argos_cloud.config import EnvironmentSpec, load_environment
from argos_cloud.model.desired import (
    INSTANCE_ROLES,
    TIERS,
    Inputs,
    data_tier,
    desired_resources,
    security_group_rules,
)
from argos_cloud.model.facts import Facts
from argos_cloud.plan.types import Resource

ROOT = Path(__file__).resolve().parents[2]
FACTS = Facts(account_id="123456789012", region="us-east-1", vpc_id="vpc-1",
              vpc_cidr="172.31.0.0/16", subnet_ids=("subnet-a", "subnet-b"),
              availability_zones=("us-east-1a", "us-east-1b"), base_ami_id="ami-12345678",
              image_digest="d" * 64)
USER_DATA = {r: f"#!/bin/bash\necho {r}\n" for r in ("master", "database", "broker", "app",
                                                      "worker")}


@pytest.fixture
def spec(tmp_path: Path) -> EnvironmentSpec:
    shutil.copy(ROOT / "argos-cloud.toml", tmp_path / "argos-cloud.toml")
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    return load_environment(tmp_path / "argos-cloud.toml", "qa", environ={})


def test_every_role_of_the_design_is_there_with_its_dependencies(spec: EnvironmentSpec) -> None:
    resources = {r.address: r for r in desired_resources(spec, FACTS, USER_DATA, "x")}
    for address in ("image.image", "iam_role.shared", "instance_profile.shared",
                    "parameter.shared.database-password", "bucket.shared", "instance.master",
                    "instance.database", "volume.database.data", "instance.broker",
                    "launch_template.app", "auto_scaling_group.app", "target_group.app",
                    "load_balancer.app", "listener.app", "scaling_policy.app",
                    "launch_template.worker", "auto_scaling_group.worker",
                    "scaling_policy.worker", "security_group.lb"):
        assert address in resources, address
    for r in resources.values():
        for need in r.needs:
            assert need in resources, f"{r.address} needs unknown {need}"
    assert "volume.database.data" in resources["instance.database"].needs
    assert "image.image" in resources["launch_template.app"].needs
    assert resources["auto_scaling_group.app"].spec["target_group"] == "target_group.app"
    assert resources["auto_scaling_group.worker"].spec["min_size"] == spec.worker.min_size
    assert "key_pair.shared" not in resources  # SSH is closed by default


def test_image_bake_master_database_and_broker_do_not_wait_for_each_other(
        spec: EnvironmentSpec) -> None:
    resources = {r.address: r for r in desired_resources(spec, FACTS, USER_DATA, "x")}
    parallel = ["image.image", "instance.master", "instance.database", "instance.broker"]
    for a in parallel:
        assert not set(resources[a].needs) & set(parallel), a


def test_only_the_load_balancer_is_open_to_the_world(spec: EnvironmentSpec) -> None:
    rules = security_group_rules(spec)
    for role, items in rules.items():
        for rule in items:
            if str(rule["source"]) in ("cidr:0.0.0.0/0", "cidr6:::/0"):
                assert role == "lb" and rule["from"] in (80, 443), (role, rule)
    assert {r["source"] for r in rules["database"]} == {"sg:app", "sg:worker"}
    assert {r["from"] for r in rules["master"]} == {4505}
    assert {r["source"] for r in rules["app"]} == {"sg:lb"}
    assert rules["worker"] == []


def test_ssh_opens_only_to_the_given_cidrs_and_imports_a_key(tmp_path: Path) -> None:
    shutil.copy(ROOT / "argos-cloud.toml", tmp_path / "argos-cloud.toml")
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    (tmp_path / "cloud" / "keys").mkdir(parents=True)
    (tmp_path / "cloud" / "keys" / "argos.pub").write_text("ssh-ed25519 AAAA test\n")
    text = (tmp_path / "argos-cloud.toml").read_text()
    text = text.replace('# public_key = "cloud/keys/argos.pub"',
                        'public_key = "cloud/keys/argos.pub"')
    text = text.replace('# cidrs = ["203.0.113.0/24"]', 'cidrs = ["203.0.113.0/24"]')
    (tmp_path / "argos-cloud.toml").write_text(text)
    spec = load_environment(tmp_path / "argos-cloud.toml", "qa", environ={})
    resources = {r.address: r for r in desired_resources(spec, FACTS, USER_DATA, "x")}
    assert resources["key_pair.shared"].spec["public_key"] == "ssh-ed25519 AAAA test"
    ssh = [r for r in security_group_rules(spec)["app"] if r["from"] == 22]
    assert ssh == [{"protocol": "tcp", "from": 22, "to": 22, "source": "cidr:203.0.113.0/24"}]
    assert "key_pair.shared" in resources["instance.master"].needs


def test_the_deploy_key_becomes_a_secure_parameter_by_digest_only(tmp_path: Path) -> None:
    shutil.copy(ROOT / "argos-cloud.toml", tmp_path / "argos-cloud.toml")
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    (tmp_path / "deploy" / "keys").mkdir()
    (tmp_path / "deploy" / "keys" / "deploy_key").write_text("-----BEGIN SECRET-----\n")
    text = (tmp_path / "argos-cloud.toml").read_text().replace(
        '# deploy_key = "deploy/keys/deploy_key"', 'deploy_key = "deploy/keys/deploy_key"')
    (tmp_path / "argos-cloud.toml").write_text(text)
    spec = load_environment(tmp_path / "argos-cloud.toml", "qa", environ={})
    resources = {r.address: r for r in desired_resources(spec, FACTS, USER_DATA, "x")}
    param = resources["parameter.shared.deploy-key"]
    assert param.spec["secure"] and "SECRET" not in repr(param)
    assert all("SECRET" not in repr(r) for r in resources.values())


def test_the_model_is_deterministic(spec: EnvironmentSpec) -> None:
    assert desired_resources(spec, FACTS, USER_DATA, "x") == desired_resources(
        spec, FACTS, USER_DATA, "x")


def _with_ssh_and_deploy_key(tmp_path: Path) -> EnvironmentSpec:
    """The shipped config with every optional resource switched on."""
    tmp_path.mkdir()
    shutil.copy(ROOT / "argos-cloud.toml", tmp_path / "argos-cloud.toml")
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    (tmp_path / "cloud" / "keys").mkdir(parents=True)
    (tmp_path / "cloud" / "keys" / "argos.pub").write_text("ssh-ed25519 AAAA test\n")
    (tmp_path / "deploy" / "keys").mkdir()
    (tmp_path / "deploy" / "keys" / "deploy_key").write_text("key\n")
    text = (tmp_path / "argos-cloud.toml").read_text()
    for line in ('public_key = "cloud/keys/argos.pub"', 'cidrs = ["203.0.113.0/24"]',
                 'deploy_key = "deploy/keys/deploy_key"'):
        text = text.replace("# " + line, line)
    (tmp_path / "argos-cloud.toml").write_text(text)
    return load_environment(tmp_path / "argos-cloud.toml", "qa", environ={})


def _references(resource: Resource, kinds: set[str]) -> set[str]:
    """Spec values naming a resource of a kind the model makes: `security_group.lb`."""
    values = [v for v in resource.spec.values() if isinstance(v, str)]
    return {v for v in values if "\n" not in v and v.split(".")[0] in kinds and "." in v}


@pytest.mark.parametrize("optional", [False, True])
def test_the_tiers_compose_the_whole_and_every_reference_resolves(
        spec: EnvironmentSpec, tmp_path: Path, optional: bool) -> None:
    if optional:
        spec = _with_ssh_and_deploy_key(tmp_path / "optional")
    given = Inputs(spec, FACTS, USER_DATA, "x", restore_snapshot="snap-1" if optional else None)
    whole = desired_resources(spec, FACTS, USER_DATA, "x", restore_snapshot=given.restore_snapshot)
    tiers = [tier(given) for tier in TIERS]
    assert tuple(r for tier in tiers for r in tier) == whole
    assert all(tiers), "every tier makes something"
    addresses = [r.address for r in whole]
    assert len(addresses) == len(set(addresses)), "every address is unique"
    kinds = {r.kind for r in whole}
    for r in whole:
        assert set(r.needs) <= set(addresses), r.address
        assert _references(r, kinds) <= set(r.needs), f"{r.address} waits for what it names"
    assert [r.role for r in whole if r.kind == "instance"] == list(INSTANCE_ROLES)
    counts = {k: sum(r.kind == k for r in whole) for k in kinds}
    expected = {"image": 1, "bucket": 1, "iam_role": 1, "instance_profile": 1, "parameter": 3,
                "security_group": 6, "instance": 3, "volume": 1, "bundle": 1,
                "target_group": 1, "load_balancer": 1, "listener": 1, "launch_template": 2,
                "auto_scaling_group": 2, "scaling_policy": 2}
    if optional:  # the deploy key's parameter and the SSH key pair
        expected.update(parameter=4, key_pair=1)
    assert counts == expected


def test_the_data_tier_restores_the_volume_from_the_given_snapshot(
        spec: EnvironmentSpec) -> None:
    volume, database = data_tier(Inputs(spec, FACTS, USER_DATA, "x", restore_snapshot="snap-1"))
    assert (volume.address, database.address) == ("volume.database.data", "instance.database")
    assert volume.spec["snapshot_id"] == "snap-1" and volume.address in database.needs
