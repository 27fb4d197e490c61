"""Both entry points parse the seed's interface; errors are one line and an exit status."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from argos_cloud.cli.args import ENV_COMMANDS, TOOL_COMMANDS, parse
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.main import main
from argos_cloud.errors import BadInput, ExitStatus

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*argv: str, cwd: Path | None = None, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(stdin), stdout=out, stderr=err,
                      cwd=cwd or ROOT, environ={})
    status = main(list(argv), env)
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("command", ["commission", "deploy", "decommission", "clean"])
def test_the_seed_usage_parses(command: str) -> None:
    args = parse(["qa", command])
    assert (args.environment, args.command) == ("qa", command)


def test_global_flags_go_before_or_after_the_command() -> None:
    before = parse(["--output", "json", "--yes", "qa", "plan"])
    after = parse(["qa", "plan", "--output=json", "-y", "--config", "x.toml"])
    assert before.output == after.output == "json" and before.yes and after.yes
    assert str(after.config) == "x.toml"
    sandbox = parse(["sandbox", "start", "--output", "json"])
    assert (sandbox.command, sandbox.options["action"], sandbox.output) == (
        "sandbox", "start", "json")


def test_command_flags_are_parsed() -> None:
    args = parse(["qa", "deploy", "--ref", "v1", "--roles", "app", "--batch", "2"])
    assert args.options["ref"] == "v1" and args.options["roles"] == ["app"]
    args = parse(["qa", "decommission", "--delete-image", "--skip-final-snapshot"])
    assert args.options["delete_image"] and args.options["skip_final_snapshot"]


@pytest.mark.parametrize("argv", [
    ["qa"], ["qa", "explode"], ["QA", "plan"], ["plan"], ["--output", "xml", "qa", "plan"],
    ["qa", "deploy", "--roles", "db"], ["--bogus", "qa", "plan"], ["sandbox", "fly"],
    ["qa", "plan", "--config"],
])
def test_bad_usage_is_bad_input(argv: list[str]) -> None:
    with pytest.raises(BadInput):
        parse(argv)


def test_help_lists_every_command_of_the_design() -> None:
    status, out, _ = run_cli("--help")
    assert status == 0
    for command in [*ENV_COMMANDS, *TOOL_COMMANDS]:
        assert f"  {command} " in out


def test_usage_error_is_one_line_and_exit_2() -> None:
    status, _, err = run_cli("qa", "explode")
    assert status == ExitStatus.BAD_INPUT
    assert err.startswith("argos-cloud: error: unknown command 'explode'")


def test_usage_error_in_json_mode_is_a_json_object() -> None:
    status, out, _ = run_cli("--output", "json", "qa", "explode")
    assert status == 2 and json.loads(out)["error"].startswith("unknown command")


def test_bad_config_exits_2_before_any_aws_call(tmp_path: Path) -> None:
    (tmp_path / "argos-cloud.toml").write_text('project = "argos"\nbogus = 1\n'
                                               "[environments.qa]\n")
    status, _, err = run_cli("qa", "plan", cwd=tmp_path)
    assert status == 2
    assert err.splitlines()[0].endswith("argos-cloud.toml: bogus: unknown key")
    assert not (tmp_path / ".argos-cloud").exists()  # no sandbox was started


def test_init_writes_a_starter_and_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\n")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "config.py").write_text("MINE = True\n")
    status, out, _ = run_cli("init", cwd=tmp_path)
    assert status == 0, out
    assert (tmp_path / "deploy" / "config.py").read_text() == "MINE = True\n"
    assert (tmp_path / "deploy" / "celery_config.py").is_file()
    assert (tmp_path / "salt" / "states" / "top.sls").is_file()
    assert 'state_tree = "salt"' in (tmp_path / "argos-cloud.toml").read_text()
    ignored = (tmp_path / ".gitignore").read_text().splitlines()
    assert {"node_modules/", "deploy/keys/", "cloud/keys/"} <= set(ignored)
    first = (tmp_path / "argos-cloud.toml").read_text()
    (tmp_path / "argos-cloud.toml").write_text(first + "# edited\n")
    assert run_cli("init", cwd=tmp_path)[0] == 0
    assert (tmp_path / "argos-cloud.toml").read_text().endswith("# edited\n")
    assert (tmp_path / ".gitignore").read_text().count("deploy/keys/") == 1


def test_manage_py_help_runs_as_a_script() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "-h"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0
    assert "commission" in done.stdout and "decommission" in done.stdout
    assert "usage: manage.py" in done.stdout


def test_protected_commands_refuse_without_a_terminal_or_yes(tmp_path: Path) -> None:
    from argos_cloud.cli.program import confirm
    from argos_cloud.cli.views import View
    from argos_cloud.errors import Refused

    env = Environment(stdin=io.StringIO(""), stdout=io.StringIO(), stderr=io.StringIO(),
                      cwd=tmp_path, environ={})
    args = parse(["qa", "decommission"])
    with pytest.raises(Refused):
        confirm(args, env, View(env, "text"), "Delete?")
    args = parse(["qa", "decommission", "--yes"])
    confirm(args, env, View(env, "text"), "Delete?")  # no question asked


def test_copy_of_the_root_has_what_the_config_names(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    assert (tmp_path / "deploy" / "celery_config.py").is_file()
