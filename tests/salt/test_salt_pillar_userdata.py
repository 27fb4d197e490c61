"""The pillar and the user data hold no secret, and pin the Salt version they are given."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from argos_cloud.model.names import Scope
from argos_cloud.provision.pillar import SECRET_KEYS, build_pillar, sample_secrets
from argos_cloud.provision.userdata import (
    SCRUB_OK,
    SCRUB_PATHS,
    image_bake_commands,
    master_user_data,
    minion_user_data,
    scrub_check_command,
    scrub_leftovers,
)
from argos_cloud.provision.validate import (
    bundle,
    bundle_digest,
    image_states_digest,
    packaged_tree,
    sample_spec,
)

SCOPE = Scope("argos", "qa")
SECRET_VALUES = list(sample_secrets().values())


def _pillar() -> dict[str, Any]:
    return build_pillar(sample_spec(), commit="a" * 40, master_address="10.0.0.10")


def _keys(value: object) -> list[str]:
    if isinstance(value, dict):
        return [k for key, v in value.items() for k in (key, *_keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def test_the_pillar_holds_no_secret_value_and_no_secret_key() -> None:
    pillar = _pillar()
    text = json.dumps(pillar)
    assert not [v for v in SECRET_VALUES if v in text]
    assert "secrets" not in pillar
    keys = _keys(pillar)
    assert not [k for k in keys if k in SECRET_KEYS or "password" in k.lower()]
    assert pillar["argos"]["commit"] == "a" * 40
    assert pillar["argos"]["parameter_path"] == "/argos-cloud/argos/sample"
    assert pillar["argos"]["has_deploy_key"] is True


def test_the_broker_engine_picks_scheme_and_port() -> None:
    spec = sample_spec().model_copy(update={"broker": sample_spec().broker.model_copy(
        update={"engine": "rabbitmq"})})
    broker = build_pillar(spec, commit="b" * 40)["argos"]["broker"]
    assert (broker["engine"], broker["url_scheme"], broker["port"]) == ("rabbitmq", "amqp", 5672)


@pytest.mark.parametrize("role", ["app", "worker", "database", "broker"])
def test_minion_user_data_is_pinned_and_secret_free(role: str) -> None:
    text = minion_user_data(SCOPE, role, "3008.4", "eu-west-1", beat=role == "worker")
    assert 'SALT_VERSION=3008.4' in text and '"salt==$SALT_VERSION"' in text
    assert "read_parameter /argos-cloud/argos/qa/master-address" in text
    assert "startup_states: highstate" in text and "  - environment\n" in text
    grains = json.loads(text.split("grains: ", 1)[1].split("\n", 1)[0])
    assert grains == {"roles": [role], "environment": "qa", "project": "argos",
                      "argos_beat": role == "worker"}
    assert not [v for v in SECRET_VALUES if v in text]
    assert "auto_accept" not in text


def test_master_user_data_fetches_the_bundle_named_in_ssm() -> None:
    text = master_user_data(SCOPE, "3008.5", "us-east-1", "argos-artifacts")
    assert "SALT_VERSION=3008.5" in text
    assert "read_parameter /argos-cloud/argos/qa/bundle" in text
    assert "argos-artifacts" in text and "record[\"key\"]" in text  # a JSON record
    assert text.rstrip().endswith("state.apply master")
    assert not [v for v in SECRET_VALUES if v in text]


def test_user_data_and_bake_commands_are_valid_bash(tmp_path: Path) -> None:
    scripts = {"minion": minion_user_data(SCOPE, "app", "3008.4", "us-east-1"),
               "master": master_user_data(SCOPE, "3008.4", "us-east-1", "b"),
               "bake": "\n".join(image_bake_commands("3008.4")),
               "check": scrub_check_command()}
    for name, text in scripts.items():
        path = tmp_path / f"{name}.sh"
        path.write_text(text)
        done = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0, (name, done.stderr)


def test_bake_applies_the_pinned_image_states_then_scrubs() -> None:
    commands = image_bake_commands("3008.4")
    text = "\n".join(commands)
    assert "SALT_VERSION=3008.4" in text
    apply = next(i for i, c in enumerate(commands) if "state.apply" in c)
    scrub = next(i for i, c in enumerate(commands) if c.startswith("rm -rf -- "))
    assert apply < scrub and "--local" in commands[apply] and "mock" not in text
    for path in ("/srv/salt", "/srv/pillar", "/etc/salt/pki", "/var/log/salt",
                 "/home/*/.bash_history", "/var/lib/cloud/instances",
                 "/home/*/.ssh/authorized_keys"):
        assert path in SCRUB_PATHS and path in commands[scrub]
    assert not [v for v in SECRET_VALUES if v in text]


def test_scrub_check_reports_ok_only_when_nothing_is_left() -> None:
    check = scrub_check_command()
    assert all(path in check for path in SCRUB_PATHS)
    assert scrub_leftovers(SCRUB_OK + "\n") == []
    assert scrub_leftovers("ARGOS-SCRUB-LEFT: /srv/salt /tmp/x") == ["/srv/salt", "/tmp/x"]
    assert scrub_leftovers("") is None
    assert scrub_leftovers("something else\n" + SCRUB_OK) is None


def test_the_bundle_is_deterministic_and_holds_templates_and_pillar(tmp_path: Path) -> None:
    template = tmp_path / "config.py"
    template.write_text("X = 1\n")
    with packaged_tree() as tree:
        first = bundle(tree, _pillar(), {"config.py": template})
        again = bundle(tree, _pillar(), {"config.py": template})
        assert bundle_digest(first) == bundle_digest(again) == bundle_digest(again)
        assert len(bundle_digest(first)) == 64
        other = bundle(tree, build_pillar(sample_spec(), commit="c" * 40),
                       {"config.py": template})
        assert bundle_digest(other) != bundle_digest(first)
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as tar:
        names = tar.getnames()
        assert names == sorted(names)
        assert {"salt/top.sls", "salt/app/init.sls", "pillar/top.sls", "pillar/argos.sls",
                "salt/argos/files/config.py"} <= set(names)
        assert {m.mtime for m in tar.getmembers()} == {1_700_000_000}
        pillar_text = tar.extractfile("pillar/argos.sls").read().decode()  # type: ignore[union-attr]
    assert pillar_text.startswith("#!json\n")
    assert json.loads(pillar_text.split("\n", 1)[1]) == _pillar()
    assert not [v for v in SECRET_VALUES if v.encode() in first]


def test_the_image_digest_changes_with_image_states_only(tmp_path: Path) -> None:
    from argos_cloud.provision.validate import copy_default_tree

    copy_default_tree(tmp_path)
    before = image_states_digest(tmp_path)
    (tmp_path / "states/app/init.sls").write_text("# changed\n")
    assert image_states_digest(tmp_path) == before
    assert image_states_digest(tmp_path, ["libxml2-dev"]) != before
    image = tmp_path / "states/image/init.sls"
    image.write_text(image.read_text() + "\n# changed\n")
    assert image_states_digest(tmp_path) != before
