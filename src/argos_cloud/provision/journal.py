"""The `journalctl` an instance runs for `logs`, and the reading of one page of its answer.

SSM keeps 24,000 characters of a command's output, so the journal comes in pages:
each page is at most PAGE_BYTES of `journalctl -o json` (each entry cut to
LINE_BYTES, so a page always holds whole entries), and the next page starts
after the cursor of the last whole entry. A page that filled up says so (its
last line is cut, or it reached the size), and the caller asks for the next.
The first line of every answer is the host's clock (`@<epoch seconds>`): with
no entry yet, a follow asks `--since` that moment, so nothing is skipped.
Pure: commands tested with ==, pages parsed from text.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argos_cloud.provision.remote import SHEBANG

PAGE_BYTES = 20000  # well inside SSM's 24,000 characters, with the clock line
LINE_BYTES = 4000  # an entry longer than this is cut (and marked)
FIELDS = ("MESSAGE", "_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER", "PRIORITY")
CLOUD = ("cloud-init-local.service", "cloud-init.service", "cloud-config.service",
         "cloud-final.service")
SALT = ("salt-minion.service",)
# Each role's own units. `argos-*` holds the web, worker, beat and release units by
# their new names (argos-web, argos-worker, argos-beat) and their old ones
# (argos-gunicorn, argos-celery). A unit a host does not have shows nothing.
UNITS_OF_ROLE: dict[str, tuple[str, ...]] = {
    "app": ("argos-*", "nginx.service", *SALT, *CLOUD),
    "worker": ("argos-*", *SALT, *CLOUD),
    "database": ("postgresql*", *SALT, *CLOUD),
    "broker": ("redis-server.service", "rabbitmq-server.service", *SALT, *CLOUD),
    "master": ("salt-master.service", *SALT, *CLOUD),
}
UNIT = re.compile(r"[A-Za-z0-9@._*:\\-]{1,256}")
CURSOR = re.compile(r"[A-Za-z0-9=;_-]{1,512}")
DURATION = re.compile(r"(\d{1,6})([smhd])")
TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2})?))?Z?")
EPOCH = re.compile(r"@\d{1,12}")


def since_problem(text: str) -> str | None:
    """Why `text` is not a `--since` (30s, 10m, 2h, 1d, or a UTC date [time]), or None."""
    if DURATION.fullmatch(text) or EPOCH.fullmatch(text):
        return None
    match = TIMESTAMP.fullmatch(text)
    if match is None:
        return "is not a duration (30s, 10m, 2h, 1d) or a time (2026-12-07 20:00[:00])"
    try:
        datetime.fromisoformat(f"{match.group(1)} {match.group(2) or '00:00'}")
    except ValueError:
        return "is not a valid date and time"
    return None


def journal_since(text: str) -> str:
    """`--since` as journalctl reads it: `-10m`, `@1733600000`, `2026-12-07 20:00:00 UTC`."""
    if since_problem(text):
        raise ValueError(f"not a --since value: {text!r}")
    if DURATION.fullmatch(text) or EPOCH.fullmatch(text):
        return text if text.startswith("@") else f"-{text}"
    match = TIMESTAMP.fullmatch(text)
    assert match is not None
    clock = match.group(2) or "00:00"
    return f"{match.group(1)} {clock if clock.count(':') == 2 else clock + ':00'} UTC"


def journal_command(units: tuple[str, ...], *, cursor: str | None = None,
                    since: str | None = None, lines: int | None = None) -> list[str]:
    """The script of one page: after `cursor`, or the first (`since`, the last `lines`)."""
    bad = [u for u in units if not UNIT.fullmatch(u)]
    if bad:
        raise ValueError(f"not a unit name: {bad[0]!r}")
    argv = ["journalctl", "--no-pager", "--quiet", "--output=json",
            f"--output-fields={','.join(FIELDS)}"]
    for unit in units:
        argv += ["-u", unit]
    if cursor is not None:
        if not CURSOR.fullmatch(cursor):
            raise ValueError("not a journal cursor")
        argv.append(f"--after-cursor={cursor}")
    else:
        if since is not None:
            argv.append(f"--since={journal_since(since)}")
        if lines is not None:
            argv.append(f"--lines={int(lines)}")
    return [SHEBANG, "date +@%s",
            f"{shlex.join(argv)} 2>/dev/null | cut -b 1-{LINE_BYTES} | head -c {PAGE_BYTES + 1}"]


@dataclass(frozen=True)
class Entry:
    """One journal entry as `logs` shows it."""

    cursor: str
    timestamp: int  # microseconds since the epoch (__REALTIME_TIMESTAMP)
    unit: str
    message: str
    cut: bool = False  # the entry was longer than LINE_BYTES

    @property
    def at(self) -> str:
        return datetime.fromtimestamp(self.timestamp / 1e6, UTC).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Page:
    entries: tuple[Entry, ...]
    full: bool  # more may follow: ask again after the last entry's cursor
    now: str | None  # the host's clock when it ran: `@<epoch seconds>`

    @property
    def cursor(self) -> str | None:
        return self.entries[-1].cursor if self.entries else None


def _message(value: Any) -> str:
    if isinstance(value, list):  # journald's spelling of a message that is not UTF-8
        return bytes(int(b) & 0xFF for b in value).decode(errors="replace")
    return "" if value is None else str(value)


def _unit(raw: dict[str, Any]) -> str:
    return str(raw.get("_SYSTEMD_UNIT") or raw.get("SYSLOG_IDENTIFIER") or "-")


def _cut_entry(line: str) -> Entry | None:
    """An entry cut at LINE_BYTES: what its start still says (the cursor comes first)."""
    def field(name: str) -> str | None:
        found = re.search(rf'"{name}"\s*:\s*"((?:[^"\\]|\\.)*)', line)
        return found.group(1) if found else None

    cursor, stamp = field("__CURSOR"), field("__REALTIME_TIMESTAMP")
    if cursor is None or stamp is None or not stamp.isdigit():
        return None
    message = field("MESSAGE") or ""
    with contextlib.suppress(ValueError):  # an escape cut in the middle: keep it raw
        message = json.loads(f'"{message.rstrip(chr(92))}"')
    unit = field("_SYSTEMD_UNIT") or field("SYSLOG_IDENTIFIER") or "-"
    return Entry(cursor, int(stamp), unit, f"{message}… [cut at {LINE_BYTES} bytes]", cut=True)


def parse_page(stdout: str) -> Page:
    """One answer of `journal_command`; unreadable lines are skipped, never fatal."""
    now = None
    body = stdout
    first, newline, rest = stdout.partition("\n")
    if EPOCH.fullmatch(first.strip()):
        now, body = first.strip(), rest if newline else ""
    full = bool(body) and (not body.endswith("\n") or len(body.encode()) > PAGE_BYTES)
    lines = body.split("\n")
    lines = lines[:-1]  # the text after the last newline: empty, or a line cut by the page
    entries = []
    for line in lines:
        if not line.startswith("{"):
            continue
        try:
            raw = json.loads(line)
        except ValueError:
            cut = _cut_entry(line)
            if cut is not None:
                entries.append(cut)
            continue
        if not isinstance(raw, dict) or "__CURSOR" not in raw:
            continue
        try:
            stamp = int(raw.get("__REALTIME_TIMESTAMP", 0))
        except (TypeError, ValueError):
            stamp = 0
        entries.append(Entry(str(raw["__CURSOR"]), stamp, _unit(raw),
                             _message(raw.get("MESSAGE"))))
    return Page(tuple(entries), full, now)
