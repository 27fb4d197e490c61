"""Views: a live table on a terminal, plain lines elsewhere; JSON mode keeps stdout clean."""

from __future__ import annotations

import io
import json
from typing import TextIO

from rich.console import Console

from argos_cloud.cli.environment import Environment
from argos_cloud.cli.views import LiveProgress, ProgressHook, View, progress_for
from argos_cloud.engine.events import StepFailed, StepSkipped, StepStarted, StepSucceeded


def _env() -> Environment:
    return Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
                       environ={})


def _text(stream: TextIO) -> str:
    assert isinstance(stream, io.StringIO)
    return stream.getvalue()


def test_a_terminal_gets_a_live_table_of_every_step() -> None:
    view = View(_env(), "text")
    screen = io.StringIO()
    view._console = Console(file=screen, force_terminal=True, width=100)
    live = progress_for(view, ["sg", "db", "app"])
    assert isinstance(live, LiveProgress)
    with live:
        live.on_event(StepStarted("sg"))
        live.on_event(StepSucceeded("sg", "sg-123"))
        live.progress("db", "waiting for i-1 to run")
        live.on_event(StepFailed("db", "InsufficientInstanceCapacity"))
        live.on_event(StepSkipped("app", "needs db, which failed"))
    text = screen.getvalue()
    assert "1/3 steps done" in text and "sg-123" in text
    assert "InsufficientInstanceCapacity" in text and "needs db, which failed" in text
    assert live.rows == {"sg": ["ok", "sg-123"], "db": ["failed", "InsufficientInstanceCapacity"],
                         "app": ["skipped", "needs db, which failed"]}


def test_json_mode_and_pipes_get_plain_lines_on_stderr() -> None:
    env = _env()
    view = View(env, "json")
    hook = progress_for(view, ["sg"])
    assert isinstance(hook, ProgressHook)
    with hook:
        hook.on_event(StepSucceeded("sg", "sg-123"))
    assert _text(env.stdout) == ""
    assert "ok  sg: sg-123" in _text(env.stderr)


def test_an_emulator_notice_is_said_once() -> None:
    env = _env()
    view = View(env, "text")
    view.notes(["emulator: instances never boot"])
    view.line("emulator: instances never boot")
    view.line("something else")
    assert _text(env.stdout).count("instances never boot") == 1


# -- results rendered by views, not by themselves
def test_a_decommission_plan_lists_what_goes_and_stays() -> None:
    from argos_cloud.cli.views.teardown import decommission_plan_lines, show_decommission_plan
    from argos_cloud.engine.graph import StepGraph
    from argos_cloud.plan.types import Actual
    from argos_cloud.workflows.decommission import TeardownPlan

    group = Actual("security_group", "lb", "sg-1", "argos-qa-lb", {}, {})
    plan = TeardownPlan("qa", "argos", (group,), ("image ami-1 (shared)",),
                        StepGraph.of({"security_group.lb": []}), True, False, ("a note",))
    assert decommission_plan_lines(plan) == [
        "decommission argos/qa will delete 1 resource(s):",
        "  - security group argos-qa-lb (sg-1)",
        "will keep:", "  = image ami-1 (shared)", "a note"]
    empty = TeardownPlan("qa", "argos", (), (), StepGraph.of(), True, False)
    out, err = io.StringIO(), io.StringIO()
    show_decommission_plan(View(Environment(stdout=out, stderr=err, environ={}), "json"), empty)
    assert err.getvalue() == "nothing to delete: no resource carries the tags of argos/qa\n"
    doc = json.loads(out.getvalue())
    assert doc["ok"] is True and doc["plan"]["delete"] == []


def test_a_decommission_result_says_what_a_fresh_discovery_found() -> None:
    from argos_cloud.cli.views.teardown import decommission_result_lines
    from argos_cloud.workflows.decommission import TeardownResult

    done = TeardownResult("qa", "argos", deleted=["security_group.lb sg-1"], kept=[],
                          failed={}, snapshots=[], remaining=[])
    assert decommission_result_lines(done) == [
        "deleted security_group.lb sg-1",
        "a fresh discovery finds nothing tagged for argos/qa"]
    cut = TeardownResult("qa", "argos", deleted=[], kept=[], failed={"db": "Throttling"},
                         snapshots=[], remaining=[], interrupted=True, not_done=["app"])
    assert decommission_result_lines(cut) == [
        "failed db: Throttling", "not done app",
        "interrupted: run decommission qa again to finish"]


def test_a_deploy_result_says_emulated_and_not_recorded() -> None:
    from argos_cloud.cli.views.deploy import deploy_lines
    from argos_cloud.workflows.deploy import BatchOutcome, DeployResult

    result = DeployResult("deploy", "qa", "a" * 40, "main", None, ["app"], "i-m", "k", True,
                          batches=[BatchOutcome("app", 1, 1, ["i-1"], "emulated",
                                                health={"i-1": "healthy"})],
                          commands=[{"command_id": "c-1", "commands": ["salt-run x"]}])
    lines = deploy_lines(result)
    assert lines[0] == f"deploy qa: commit {'a' * 40} (main)"
    assert lines[1] == "  app batch 1/1: emulated — i-1; target health (emulator): i-1 healthy"
    assert "Salt did not run" in lines[2] and lines[3] == "  c-1: salt-run x"
    assert lines[-1] == f"{'a' * 40} was NOT recorded: the deployed commit is unchanged"


def test_check_and_clean_say_when_there_is_nothing() -> None:
    from argos_cloud.cli.views.day_two import check_lines
    from argos_cloud.cli.views.teardown import clean_result_lines
    from argos_cloud.provision.bake import BakeLeftovers
    from argos_cloud.workflows.check import CheckReport
    from argos_cloud.workflows.clean import CleanResult

    assert check_lines(CheckReport("argos", "qa", [], [])) == [
        "no drift: argos/qa matches its configuration",
        "no orphans: everything tagged for argos is accounted for"]
    assert clean_result_lines(CleanResult("argos", [], BakeLeftovers(), ["n"])) == [
        "nothing to clean: argos has no image, bake instance or bake security group", "n"]


def test_an_emulated_deploy_shows_the_salt_call_and_hides_the_filter_unless_verbose() -> None:
    from argos_cloud.cli.views.deploy import deploy_lines
    from argos_cloud.workflows.deploy import BatchOutcome, DeployResult

    sent = "salt -C 'G@roles:app' state.highstate queue=True | python -c 'import json'"
    result = DeployResult("deploy", "qa", "a" * 40, "main", None, ["app"], "i-m", "k", True,
                          batches=[BatchOutcome("app", 1, 1, ["i-1"], "emulated")],
                          commands=[{"command_id": "c-1", "commands": [sent]}])
    short = [line for line in deploy_lines(result) if line.startswith("  c-1")]
    assert short == ["  c-1: salt -C 'G@roles:app' state.highstate queue=True | … "
                     "(-v shows the filter)"]
    assert f"  c-1: {sent}" in deploy_lines(result, verbose=True)
