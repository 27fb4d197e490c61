"""Reading what Salt's master says a state run did, without trusting its exit code.

`salt --static` exits 0 when states fail, a minion that never answered is
simply absent (or a "did not return" string), and a render error replaces a
minion's result dict with a list of strings. So a run is judged from its JSON
alone: every expected minion must have answered, with no state False and no
error. Pure: no Salt, no AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from argos_cloud.provision.remote import InvocationResult

KEY_SEPARATOR = "_|-"  # "<module>_|-<id>_|-<name>_|-<function>"
MAX_COMMENT = 300


@dataclass(frozen=True)
class MinionResult:
    """One minion's answer: failed states as (state, comment), errors as lines."""

    ok: bool
    failed_states: list[tuple[str, str]] = field(default_factory=list)
    retcode: int | None = None
    errors: list[str] = field(default_factory=list)
    states: int = 0  # how many states reported a result


@dataclass(frozen=True)
class SaltRun:
    minions: dict[str, MinionResult]

    @property
    def answered(self) -> set[str]:
        return set(self.minions)


def parse(stdout: str) -> SaltRun:
    """Salt's JSON output (one document, or one per minion without --static) → SaltRun.

    Anything that is not a JSON object (a master error text, say) yields a run
    with no minion, so every expected minion counts as silent.
    """
    merged: dict[str, Any] = {}
    for doc in _documents(stdout):
        if isinstance(doc, dict):
            merged.update(doc)
    return from_mapping(merged)


def from_mapping(raw: Mapping[str, Any]) -> SaltRun:
    """`{minion: answer}` as printed by the CLI or returned by LocalClient(full_return=True).

    A state run's keys always hold `_|-`, so a key named "ret" marks the envelope.
    """
    return SaltRun({str(minion): minion_result(answer) for minion, answer in raw.items()})


def minion_result(answer: Any) -> MinionResult:
    retcode: int | None = None
    if isinstance(answer, Mapping) and "ret" in answer:  # full_return: {"ret", "retcode"}
        retcode = _int_or_none(answer.get("retcode"))
        answer = answer["ret"]
    if isinstance(answer, str):  # "Minion did not return. [No response]"
        return MinionResult(False, retcode=retcode, errors=[_short(answer)])
    if isinstance(answer, list):  # render or compile errors
        lines = [_short(str(e)) for e in answer] or ["Salt returned an empty error list"]
        return MinionResult(False, retcode=retcode, errors=lines)
    if not isinstance(answer, Mapping):
        return MinionResult(False, retcode=retcode,
                            errors=[f"unexpected answer of type {type(answer).__name__}"])
    failed: list[tuple[str, str]] = []
    errors: list[str] = []
    states = 0
    for key, state in answer.items():
        if not isinstance(state, Mapping) or "result" not in state:
            errors.append(f"unexpected entry {_short(str(key))}")
            continue
        states += 1
        if state["result"] is False:  # None is "would change" (test mode), not a failure
            failed.append((state_label(str(key), state), _short(str(state.get("comment", "")))))
    ok = not failed and not errors and retcode in (None, 0)
    return MinionResult(ok, failed, retcode, errors, states)


def state_label(key: str, state: Mapping[str, Any]) -> str:
    """`<id> (<module>.<function>)` from a state key; Salt's `__id__` wins when present."""
    parts = key.split(KEY_SEPARATOR)
    if len(parts) == 4:
        module, ident, _name, function = parts
        return f"{state.get('__id__', ident)} ({module}.{function})"
    return str(state.get("__id__", key))


def check(run: SaltRun, expected_minions: Iterable[str]) -> list[str]:
    """Every reason the run is not a success; empty means every expected minion applied."""
    expected = set(expected_minions)
    problems = [f"{m} did not answer" for m in sorted(expected - run.answered)]
    for minion in sorted(run.minions):
        result = run.minions[minion]
        problems += [f"{minion}: {error}" for error in result.errors]
        problems += [f"{minion}: state {label} failed" + (f": {comment}" if comment else "")
                     for label, comment in result.failed_states]
        if not result.errors and not result.failed_states and result.retcode not in (None, 0):
            problems.append(f"{minion}: Salt returned retcode {result.retcode}")
        if minion in expected and not result.errors and result.states == 0:
            problems.append(f"{minion}: answered with no state result")
    return problems


def command_problems(invocation: InvocationResult | None, expected_minions: Iterable[str],
                     ) -> list[str]:
    """Judge the master's `salt` command: its JSON first; no output at all is a failure.

    The command's own status only adds to the list: `salt --static` exits 0 on failures.
    """
    if invocation is None:
        return ["the master never reported the command's outcome"]
    problems = []
    if not invocation.stdout.strip():
        problems.append(f"no Salt output from the master (command {invocation.status}, "
                        f"exit {invocation.exit_code})")
    else:
        problems += check(parse(invocation.stdout), expected_minions)
    if not invocation.ok:
        why = (invocation.stderr.strip().splitlines() or [""])[-1].strip()
        problems.append(f"the command on the master ended {invocation.status} "
                        f"(exit {invocation.exit_code})" + (f": {_short(why)}" if why else ""))
    return problems


def _documents(text: str) -> list[Any]:
    """Every JSON object starting a line, in order; other text (warnings) is skipped.

    Only line starts are tried, so a truncated document never yields its inner
    objects as if they were minions.
    """
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    i = 0
    while True:
        start = text.find("{", i)
        if start < 0:
            return docs
        if start > 0 and text[start - 1] != "\n":
            i = text.find("\n", start)
            if i < 0:
                return docs
            continue
        try:
            doc, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            i = start + 1
            continue
        docs.append(doc)
        i = end


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_COMMENT else line[: MAX_COMMENT - 1] + "…"
