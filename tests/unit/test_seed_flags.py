"""The seed's manage.py flags and answers (issue 21, item 5) and the default image (item 6)."""

from __future__ import annotations

import io
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from argos_cloud.cli.args import parse
from argos_cloud.cli.confirm import confirm
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.options import CommissionOptions, PlanOptions
from argos_cloud.config import load_environment
from argos_cloud.config.overrides import RunOverrides, apply_run_overrides
from argos_cloud.errors import BadInput, Refused

ROOT = Path(__file__).resolve().parents[2]


def test_the_seed_spelling_of_the_flags_parses_on_commission_and_plan() -> None:
    args = parse(["qa", "commission", "--instance_type", "t3.medium", "--min_size", "2",
                  "--max_size", "6", "-ssh"])
    assert args.options == CommissionOptions(instance_type="t3.medium", min_size=2,
                                             max_size=6, ssh=True)
    assert parse(["qa", "plan", "--min-size", "2", "--ssh"]).options == PlanOptions(
        min_size=2, ssh=True)


@pytest.mark.parametrize("argv, says", [
    (["qa", "commission", "--min_size", "-1"], "--min_size"),
    (["qa", "commission", "--max_size", "1001"], "0 to 1000"),
    (["qa", "commission", "--instance_type", "huge"], "not an instance type"),
])
def test_bad_flag_values_are_bad_input_naming_the_flag(argv: list[str], says: str) -> None:
    with pytest.raises(BadInput, match=says):
        parse(argv)


def test_the_help_says_the_flags_are_for_one_run_and_ssh_is_never_opened_to_the_world() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "qa", "commission", "-h"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    for flag in ("--instance_type TYPE", "--min_size N", "--max_size N", "-ssh"):
        assert flag in text
    assert "this run only" in text and "never to the world" in text


def test_sizes_override_the_app_group_for_one_run_and_desired_follows(project: Path) -> None:
    spec = load_environment(project / "argos-cloud.toml", "qa", environ={})
    assert (spec.app.min_size, spec.app.max_size, spec.app.desired) == (1, 2, 1)
    run = apply_run_overrides(spec, RunOverrides(instance_type="t3.medium", min_size=2,
                                                 max_size=6))
    assert (run.app.min_size, run.app.max_size, run.app.desired) == (2, 6, 2)
    assert run.app.instance_type == "t3.medium" and run.worker == spec.worker
    lower = apply_run_overrides(spec, RunOverrides(min_size=0, max_size=0))
    assert (lower.app.min_size, lower.app.max_size, lower.app.desired) == (0, 0, 0)
    assert apply_run_overrides(spec, RunOverrides()) is spec


def test_a_minimum_above_the_maximum_is_refused_naming_both(project: Path) -> None:
    spec = load_environment(project / "argos-cloud.toml", "qa", environ={})
    with pytest.raises(BadInput, match="--min_size 5 is above --max_size 2"):
        apply_run_overrides(spec, RunOverrides(min_size=5))


def test_ssh_is_refused_without_cidrs_and_accepted_with_them(project: Path) -> None:
    spec = load_environment(project / "argos-cloud.toml", "qa", environ={})
    with pytest.raises(BadInput, match="never to the world"):
        apply_run_overrides(spec, RunOverrides(ssh=True))
    key = project / "argos.pub"
    key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8yJ4gC7Q5yT2f0bX3o2h3kq0lq0b1m "
                   "me@example\n")
    config = project / "argos-cloud.toml"
    config.write_text(config.read_text().replace(
        '# public_key = "cloud/keys/argos.pub"', 'public_key = "argos.pub"').replace(
        '# cidrs = ["203.0.113.0/24"]', 'cidrs = ["203.0.113.0/24"]'))
    opened = load_environment(config, "qa", environ={})
    assert apply_run_overrides(opened, RunOverrides(ssh=True)).ssh_enabled


@pytest.mark.parametrize("answer", ["y", "yes", "Yes", "yeah", "ya", "aye", "AYE"])
def test_the_seeds_answers_confirm(answer: str) -> None:
    env = Environment(stdin=io.StringIO(answer + "\n"), stdout=io.StringIO(),
                      stderr=io.StringIO(), environ={})
    confirm(env, "Decommission argos/qa?", yes=False)  # no Refused


@pytest.mark.parametrize("answer", ["n", "no", "nope", "yess", ""])
def test_anything_else_declines(answer: str) -> None:
    env = Environment(stdin=io.StringIO(answer + "\n"), stdout=io.StringIO(),
                      stderr=io.StringIO(), environ={})
    with pytest.raises(Refused):
        confirm(env, "Decommission argos/qa?", yes=False)


def test_the_shipped_default_image_is_the_official_debian_12_ami() -> None:
    for path in (ROOT / "argos-cloud.toml", ROOT / "src/argos_cloud/templates/argos-cloud.toml"):
        image = tomllib.loads(path.read_text())["image"]
        assert image["base_ami_owner"] == "136693071363"  # the Debian project's account
        assert image["base_ami_name"] == "debian-12-amd64-*"
        assert "base_ami_id" not in image
