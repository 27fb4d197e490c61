"""Config: the shipped example loads; every bad file gives one line naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from argos_cloud.config import load_environment
from argos_cloud.errors import BadInput, ConfigError, ExitStatus

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_example_loads_for_both_environments(project: Path) -> None:
    qa = load_environment(project / "argos-cloud.toml", "qa", environ={})
    prod = load_environment(project / "argos-cloud.toml", "production", environ={})
    assert (qa.provider, qa.project, qa.protected) == ("sandbox", "argos", False)
    assert prod.protected and prod.app.min_size == 2 and prod.app.instance_type == "m6i.large"
    assert prod.app.cpu_target == qa.app.cpu_target  # deep-merged from the base
    assert qa.source.config_template.is_absolute() and qa.source.config_template.is_file()


def test_the_example_is_the_same_file_init_writes() -> None:
    packaged = ROOT / "src/argos_cloud/templates/argos-cloud.toml"
    assert packaged.read_text() == (ROOT / "argos-cloud.toml").read_text()


def test_environment_variable_overrides_the_provider(project: Path) -> None:
    spec = load_environment(project / "argos-cloud.toml", "qa",
                            environ={"ARGOS_CLOUD_PROVIDER": "aws"})
    assert spec.provider == "aws"


def _edit(project: Path, old: str, new: str) -> Path:
    path = project / "argos-cloud.toml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return path


# (replace this, with this, environment, expected key in the message, expected words)
BAD = [
    ('project = "argos"', 'project = "argos"\ncolour = "blue"', "qa", "colour", "unknown key"),
    ('project = "argos"', 'project = "Argos!"', "qa", "project", "pattern"),
    ("min_size = 1\nmax_size = 2\ndesired = 1\ncpu_target = 60.0",
     'min_size = "one"\nmax_size = 2\ndesired = 1\ncpu_target = 60.0', "qa", "app.min_size",
     "integer"),
    ("min_size = 1\nmax_size = 2\ndesired = 1\ncpu_target = 60.0",
     "min_size = 3\nmax_size = 2\ndesired = 1\ncpu_target = 60.0", "qa", "app", "min_size <="),
    ('repository = "reference-app"\n', "", "qa", "source.repository",
     "missing value"),
    ('config_template = "deploy/config.py"', 'config_template = "deploy/nope.py"', "qa",
     "source.config_template", "no such file"),
    ('# deploy_key = "deploy/keys/deploy_key"', 'deploy_key = "deploy/keys/deploy_key"', "qa",
     "source.deploy_key", "no such file"),
    ('provider = "sandbox"', 'provider = "azure"', "qa", "provider", "sandbox"),
    ('region = "us-east-1"', 'region = "mars"', "qa", "region", "pattern"),
    ('region = "us-east-1"', "region = 5", "qa", "region", "string"),
    ("[environments.qa]", "[environments.QA]", "qa", "environments.QA", "not a valid"),
    ("[environments.qa]", "[environments.plan]", "qa", "environments.plan", "command word"),
    ("[environments.qa]", "[environments.a-very-long-environment-name]", "qa",
     "environments.a-very-long-environment-name", "at most 16"),
    ("[environments.qa]", "[environments.staging]", "qa", "environments.qa",
     "no such environment"),
    ("protected = true", "protected = 'yes'", "production", "environments.production.protected",
     "boolean"),
    ('app = { instance_type = "m6i.large"', 'app = { instance_typo = "m6i.large"',
     "production", "environments.production.app.instance_typo", "unknown key"),
    ('base_ami_name = "debian-12-amd64-*"\n', "",
     "qa", "image", "base_ami_id"),
    ('# cidrs = ["203.0.113.0/24"]', 'cidrs = ["0.0.0.0/0"]', "qa", "ssh.cidrs", "whole internet"),
    ('# cidrs = ["203.0.113.0/24"]', 'cidrs = ["203.0.113.0/24"]', "qa", "ssh.public_key",
     "missing value"),
    ('[salt]', '[salt]\nstate_tree = "nowhere"', "qa", "salt.state_tree", "no such folder"),
    ('project = "argos"', 'project = "argos"\nprotected = true', "qa", "protected",
     "environments"),
    ("instance_type = \"t3.micro\"", "instance_type = \"huge\"", "qa", "broker.instance_type",
     "pattern"),
    ('project = "argos"', 'project = "argos', "qa", "", "not valid TOML"),
]


@pytest.mark.parametrize(("old", "new", "env", "key", "words"), BAD,
                         ids=[f"{i}-{case[3] or 'toml'}" for i, case in enumerate(BAD)])
def test_a_bad_config_is_one_line_naming_the_file_and_key(
        project: Path, old: str, new: str, env: str, key: str, words: str) -> None:
    path = _edit(project, old, new)
    with pytest.raises(BadInput) as caught:
        load_environment(path, env, environ={})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    assert f": {key}:" in message or (not key), message
    assert words in message, message
    assert caught.value.exit_status is ExitStatus.BAD_INPUT


def test_a_bad_provider_from_the_environment_names_the_variable(project: Path) -> None:
    with pytest.raises(ConfigError, match="ARGOS_CLOUD_PROVIDER"):
        load_environment(project / "argos-cloud.toml", "qa",
                         environ={"ARGOS_CLOUD_PROVIDER": "gcp"})


def test_a_missing_config_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="argos-cloud init"):
        load_environment(tmp_path / "argos-cloud.toml", "qa", environ={})


def test_a_bad_environment_name_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="command word"):
        load_environment(tmp_path / "missing.toml", "deploy", environ={})


def test_the_example_templates_are_the_ones_init_writes() -> None:
    for name in ("config.py", "celery_config.py"):
        packaged = ROOT / "src/argos_cloud/templates/deploy" / name
        assert packaged.read_text() == (ROOT / "deploy" / name).read_text()
