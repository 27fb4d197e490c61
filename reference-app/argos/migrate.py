"""`python -m argos.migrate`: create the app's tables, idempotently.

Salt runs it once per commit on each app and worker host (config `migrate_command`).
"""

from __future__ import annotations

import sys

from argos.db import connector, migrate
from argos.settings import SettingsError, config_path, database, load_module


def main() -> int:
    try:
        config = load_module(config_path(), "argos_config")
        done = migrate(connector(database(config)))
    except SettingsError as e:
        print(f"argos.migrate: {e}", file=sys.stderr)
        return 2
    print(f"argos.migrate: {done} statements applied (idempotent)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
