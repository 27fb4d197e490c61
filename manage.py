#!/usr/bin/env python3
"""The seed's interface, kept: `python manage.py ENV commission|deploy|decommission|clean`.

Runs the same CLI as the `argos-cloud` console script.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from argos_cloud.cli.main import run

if __name__ == "__main__":
    run(program="manage.py")
