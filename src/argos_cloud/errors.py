"""The one exception tree; the CLI turns each into a line and an exit status.

Imports nothing of ours, so every layer may raise these.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Exit codes of DESIGN §7."""

    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    REFUSED = 3
    CHANGES = 4  # plan --detailed-exitcode and check: something differs (not an error)
    INTERRUPTED = 130


class ArgosError(Exception):
    """Base of every error the tool expects; `exit_status` picks the code."""

    exit_status: ExitStatus = ExitStatus.FAILED

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail  # shown with -v only

    def __str__(self) -> str:
        return self.message


class BadInput(ArgosError):
    """Usage, names, flags: the user can fix the command line."""

    exit_status = ExitStatus.BAD_INPUT


class ConfigError(BadInput):
    """The config file is wrong; the message names the file and the key."""

    def __init__(self, path: str, key: str, problem: str) -> None:
        where = f"{path}: {key}: " if key else f"{path}: "
        super().__init__(f"{where}{problem}")
        self.path, self.key, self.problem = path, key, problem


class Refused(ArgosError):
    """The tool declined: confirmation answered no, image in use, …"""

    exit_status = ExitStatus.REFUSED


class LockHeld(Refused):
    """Another operation holds the environment's lock."""

    def __init__(self, environment: str, holder: str, operation: str, since: str,
                 stale: bool = False) -> None:
        hint = (" (stale; --break-lock clears it)" if stale else
                "; it is alive: wait for it with --lock-wait SECONDS")
        super().__init__(
            f"{environment} is locked by {holder} ({operation}) since {since}{hint}")
        self.environment, self.holder, self.operation, self.since = (
            environment, holder, operation, since)
        self.stale = stale


class OperationFailed(ArgosError):
    """An operation ran and failed (an AWS error, a failed Salt state)."""


class AwsError(OperationFailed):
    """An AWS call failed; carries the service's error code."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(f"{operation}: {code}: {message}")
        self.operation, self.code = operation, code


class Interrupted(ArgosError):
    """Ctrl-C: stopped cleanly, resumable."""

    exit_status = ExitStatus.INTERRUPTED
