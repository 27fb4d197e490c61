"""Asking before a change: yes/no, or the environment's name typed for a protected one."""

from __future__ import annotations

from argos_cloud.cli.environment import Environment
from argos_cloud.errors import Refused

# What the seed's decommission prompt accepted, besides y and yes.
YES_ANSWERS = frozenset({"y", "yes", "yeah", "ya", "aye"})


def confirm(env: Environment, question: str, *, yes: bool,
            type_name: str | None = None) -> None:
    """Ask unless `yes` (--yes); a protected environment's name must be typed. No → Refused."""
    if yes:
        return
    no_answer = Refused(f"{question.rstrip('?')}: no answer on standard input; "
                        "pass --yes to run without asking")
    if type_name is not None:
        answer = env.ask(f"{question}\nType the environment's name ({type_name}) to confirm: ")
        if answer is None:
            raise no_answer
        if answer != type_name:
            raise Refused("confirmation declined: the name typed did not match")
        return
    answer = env.ask(f"{question} [y/N] ")
    if answer is None:
        raise no_answer
    if answer.lower() not in YES_ANSWERS:
        raise Refused("confirmation declined")
