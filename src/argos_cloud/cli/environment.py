"""The process's surroundings, injected so tests can replace them (httpie's Environment)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO


@dataclass
class Environment:
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    cwd: Path = field(default_factory=Path.cwd)
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    program: str = "argos-cloud"

    @property
    def stdout_is_terminal(self) -> bool:
        try:
            return bool(self.stdout.isatty())
        except (AttributeError, ValueError):
            return False

    def ask(self, prompt: str) -> str | None:
        """One line from the user, or None when there is nobody to answer."""
        self.stderr.write(prompt)
        self.stderr.flush()
        try:
            line = self.stdin.readline()
        except (OSError, ValueError):
            return None
        if not line:
            return None
        return line.strip()
