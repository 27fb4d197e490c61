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
from argos_cloud.cli.options import (
    CommissionOptions,
    DecommissionOptions,
    DeployOptions,
    NoOptions,
    SandboxOptions,
)
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
    assert (sandbox.command, sandbox.options, sandbox.output) == (
        "sandbox", SandboxOptions(action="start"), "json")


def test_command_flags_are_parsed() -> None:
    args = parse(["qa", "deploy", "--ref", "v1", "--roles", "app", "--batch", "2"])
    assert args.options == DeployOptions(ref="v1", roles=("app",), batch="2")
    args = parse(["qa", "decommission", "--delete-image", "--skip-final-snapshot"])
    assert args.options == DecommissionOptions(delete_image=True, skip_final_snapshot=True)
    args = parse(["qa", "commission", "--lock-wait", "30", "--break-lock"])
    assert args.options == CommissionOptions(lock_wait=30, break_lock=True)
    assert parse(["qa", "status"]).options == NoOptions()


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
    from argos_cloud.cli.confirm import confirm
    from argos_cloud.errors import Refused

    env = Environment(stdin=io.StringIO(""), stdout=io.StringIO(), stderr=io.StringIO(),
                      cwd=tmp_path, environ={})
    args = parse(["qa", "decommission"])
    with pytest.raises(Refused):
        confirm(env, "Delete?", yes=args.yes)
    args = parse(["qa", "decommission", "--yes"])
    confirm(env, "Delete?", yes=args.yes)  # no question asked


def test_copy_of_the_root_has_what_the_config_names(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    assert (tmp_path / "deploy" / "celery_config.py").is_file()


@pytest.mark.parametrize("argv", [["-h"], ["qa", "deploy", "-h"], ["qa", "bogus"]])
def test_help_and_usage_errors_import_no_aws_and_no_workflow(argv: list[str]) -> None:
    """Parsing stays light: boto3 and the workflows wait inside the commands."""
    probe = ("import io, sys\n"
             "from argos_cloud.cli.environment import Environment\n"
             "from argos_cloud.cli.main import main\n"
             "main(sys.argv[1:], Environment(stdout=io.StringIO(), stderr=io.StringIO()))\n"
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')"
             " or m.startswith('argos_cloud.workflows'))\n"
             "print(heavy)\n")
    done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True,
                          timeout=60, check=False, env={"PYTHONPATH": str(ROOT / "src")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"  # argparse's -h text comes before


def test_the_cli_modules_import_each_other_without_a_cycle() -> None:
    """Every import inside `cli/` (also inside functions) runs one way: no module imports back."""
    import ast
    from graphlib import CycleError, TopologicalSorter

    folder = ROOT / "src" / "argos_cloud" / "cli"
    imports: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        parts = path.relative_to(folder.parent.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found = imports.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found |= {t for t in targets if t.startswith("argos_cloud.cli") and t != name}
    modules = set(imports)
    graph = {m: {t for t in ts if t in modules and not m.startswith(t + ".")}
             for m, ts in imports.items()}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as e:
        pytest.fail(f"import cycle in cli/: {e.args[1]}")
    assert "importlib" not in (folder / "program.py").read_text()
