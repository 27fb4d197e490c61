"""Views: a live table on a terminal, plain lines elsewhere; JSON mode keeps stdout clean."""

from __future__ import annotations

import io
from typing import TextIO

from rich.console import Console

from argos_cloud.cli.environment import Environment
from argos_cloud.cli.views import LiveProgress, ProgressHook, View, progress_for
from argos_cloud.engine.events import StepFailed, StepSkipped, StepStarted, StepSucceeded


def _env() -> Environment:
    return Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
                       environ={})


def _said(stream: TextIO) -> str:
    assert isinstance(stream, io.StringIO)  # as _env made it
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
    assert _said(env.stdout) == ""
    assert "ok  sg: sg-123" in _said(env.stderr)


def test_an_emulator_notice_is_said_once() -> None:
    env = _env()
    view = View(env, "text")
    view.notes(["emulator: instances never boot"])
    view.line("emulator: instances never boot")
    view.line("something else")
    assert _said(env.stdout).count("instances never boot") == 1
