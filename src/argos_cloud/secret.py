"""A value that must never be printed, logged or serialised by accident."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Secret:
    """Holds a secret; `str`, `repr` and JSON views show only a redaction."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """The plain value: call only where it goes to SSM."""
        return self._value

    def __str__(self) -> str:
        return "********"

    def __repr__(self) -> str:
        return "Secret('********')"
