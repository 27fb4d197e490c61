"""`logs`: journalctl built as data, pages past SSM's limit, a follow by cursor, Ctrl-C."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field

import pytest

from argos_cloud.provision.journal import (
    LINE_BYTES,
    PAGE_BYTES,
    journal_command,
    journal_since,
    parse_page,
    since_problem,
)
from argos_cloud.provision.remote import FakeExecutor
from argos_cloud.workflows.logs import LogLine, Source, fetch
from argos_cloud.workflows.targets import Target

APP = Target("i-1", "app", None, True, "healthy")


def test_the_command_is_exact() -> None:
    assert journal_command(("argos-*", "nginx.service"), since="10m", lines=50) == [
        "#!/bin/bash", "date +@%s",
        "journalctl --no-pager --quiet --output=json "
        "--output-fields=MESSAGE,_SYSTEMD_UNIT,SYSLOG_IDENTIFIER,PRIORITY -u 'argos-*' "
        "-u nginx.service --since=-10m --lines=50 2>/dev/null | cut -b 1-4000 | "
        "head -c 20001"]
    assert "'--after-cursor=s=ab;i=1'" in journal_command(("x.service",), cursor="s=ab;i=1")[2]
    with pytest.raises(ValueError):
        journal_command(("x; rm -rf /",))
    with pytest.raises(ValueError):
        journal_command(("x.service",), cursor="s=1' ; reboot")


@pytest.mark.parametrize("text, journal", [
    ("30s", "-30s"), ("10m", "-10m"), ("2h", "-2h"), ("1d", "-1d"), ("@1700000000", "@1700000000"),
    ("2026-12-07", "2026-12-07 00:00:00 UTC"), ("2026-12-07T20:00", "2026-12-07 20:00:00 UTC"),
    ("2026-12-07 20:00:05", "2026-12-07 20:00:05 UTC")])
def test_since_values(text: str, journal: str) -> None:
    assert since_problem(text) is None and journal_since(text) == journal


@pytest.mark.parametrize("text", ["10", "ten minutes", "2026-13-40", "-5m", "10m; reboot"])
def test_bad_since_values_are_refused(text: str) -> None:
    assert since_problem(text) is not None


@dataclass
class FakeJournal:
    """Answers journal_command scripts as a host would: after the cursor, cut, paged."""

    entries: list[dict[str, str]] = field(default_factory=list)
    now: int = 1700000000
    calls: int = 0

    def add(self, n: int, size: int = 200, unit: str = "argos-web.service") -> None:
        for _ in range(n):
            i = len(self.entries)
            self.entries.append({"__CURSOR": f"s=x;i={i:x}",
                                 "__REALTIME_TIMESTAMP": str(self.now * 10**6 + i),
                                 "_SYSTEMD_UNIT": unit,
                                 "MESSAGE": f"line {i} " + "x" * size})

    def respond(self, iid: str, commands: list[str]) -> str:
        self.calls += 1
        argv = shlex.split(commands[2].split(" 2>/dev/null")[0])
        opts = dict(a.split("=", 1) for a in argv if a.startswith("--") and "=" in a)
        chosen = self.entries
        if "--after-cursor" in opts:
            index = next(n for n, e in enumerate(self.entries)
                         if e["__CURSOR"] == opts["--after-cursor"])
            chosen = self.entries[index + 1:]
        elif "--since" in opts and opts["--since"].startswith("@"):
            chosen = [e for e in self.entries
                      if int(e["__REALTIME_TIMESTAMP"]) >= int(opts["--since"][1:]) * 10**6]
        if "--lines" in opts:
            chosen = chosen[-int(opts["--lines"]):]
        body = b"".join(json.dumps(e).encode()[:LINE_BYTES] + b"\n" for e in chosen)
        return f"@{self.now}\n" + body[:PAGE_BYTES + 1].decode(errors="replace")


def lines_of(out: list[LogLine]) -> list[int]:
    return [int(x.message.split()[1]) for x in out]


def test_output_longer_than_ssm_keeps_is_fetched_in_pages_each_line_once() -> None:
    journal = FakeJournal()
    journal.add(300)  # about 90 kB: five pages or so
    source = Source(APP, ("argos-*",))
    out = fetch(FakeExecutor(respond=journal.respond), source, since="1d")
    assert lines_of(out) == list(range(300))
    assert source.pages >= 4 and source.cursor == "s=x;i=12b"
    assert out[0].unit == "argos-web.service" and out[0].instance_id == "i-1"


def test_lines_takes_the_last_n_then_paging_goes_on_from_there() -> None:
    journal = FakeJournal()
    journal.add(300)
    out = fetch(FakeExecutor(respond=journal.respond), Source(APP, ("argos-*",)), lines=100)
    assert lines_of(out) == list(range(200, 300))


def test_a_follow_by_cursor_shows_nothing_twice_and_skips_nothing() -> None:
    journal = FakeJournal()
    fake = FakeExecutor(respond=journal.respond)
    source = Source(APP, ("argos-*",))
    assert fetch(fake, source, lines=10) == []  # empty journal: next time, since its clock
    assert source.since == "@1700000000" and source.cursor is None
    journal.add(5)
    seen = lines_of(fetch(fake, source))
    journal.add(120)
    seen += lines_of(fetch(fake, source))
    seen += lines_of(fetch(fake, source))  # nothing new
    assert seen == list(range(125))


def test_an_entry_longer_than_a_line_is_shown_cut_and_the_next_ones_follow() -> None:
    journal = FakeJournal()
    journal.add(1, size=30000)
    journal.add(3)
    out = fetch(FakeExecutor(respond=journal.respond), Source(APP, ("argos-*",)), since="1h")
    assert lines_of(out) == [0, 1, 2, 3]
    assert out[0].cut and out[0].message.endswith(f"[cut at {LINE_BYTES} bytes]")


def test_a_page_that_filled_up_says_so() -> None:
    whole = parse_page("@1\n" + json.dumps({"__CURSOR": "c1", "__REALTIME_TIMESTAMP": "5",
                                            "MESSAGE": "hi", "_SYSTEMD_UNIT": "u"}) + "\n")
    assert not whole.full and whole.cursor == "c1" and whole.now == "@1"
    cut = parse_page('@1\n{"__CURSOR":"c1","__REALTIME_TIMESTAMP":"5","MESSAGE":"a"}\n{"__CU')
    assert cut.full and [e.cursor for e in cut.entries] == ["c1"]
    assert parse_page("").entries == () and not parse_page("").full


def test_a_failed_page_is_a_problem_of_that_instance() -> None:
    from argos_cloud.provision.remote import InvocationResult

    fake = FakeExecutor(respond=lambda iid, c: InvocationResult(iid, "Failed", "", "x", 1))
    source = Source(APP, ("argos-*",))
    assert fetch(fake, source) == [] and source.problem == "Failed (exit 1)"


def test_ctrl_c_ends_a_follow_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from argos_cloud.cli import operate_commands
    from argos_cloud.cli.args import parse
    from argos_cloud.cli.environment import Environment
    from argos_cloud.cli.views import ProgressHook, View
    from argos_cloud.errors import ExitStatus
    from argos_cloud.workflows import logs as workflow

    def following(session: object, emit: object, **kwargs: object) -> None:
        emit(LogLine("i-1", "app", "nginx.service", "2026-12-07T20:00:00.000Z", "GET /",  # type: ignore[operator]
                     0))
        raise KeyboardInterrupt

    monkeypatch.setattr(workflow, "logs", following)
    out = io.StringIO()
    env = Environment(stdin=io.StringIO(), stdout=out, stderr=io.StringIO(), environ={})
    view = View(env, "text")
    args = parse(["qa", "logs", "-f", "--role", "app"])
    status = operate_commands.logs(args, env, view, object(), ProgressHook(view))  # type: ignore[arg-type]
    assert status is ExitStatus.OK
    assert out.getvalue() == "i-1 nginx.service 2026-12-07T20:00:00.000Z GET /\n"
