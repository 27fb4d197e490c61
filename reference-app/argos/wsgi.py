"""The WSGI entry point gunicorn serves: `argos.wsgi:application`.

Settings are read once at import, so a missing or broken config stops gunicorn
at start (and the state that starts it fails) instead of failing every request.
"""

from __future__ import annotations

from argos.commit import current_commit
from argos.db import connector
from argos.settings import config_path, database, load_module
from argos.web import ArgosApp


def make_application() -> ArgosApp:
    config = load_module(config_path(), "argos_config")
    commit = current_commit()  # the checkout does not change under a running process

    def run_task(timeout: float) -> dict[str, object]:
        from argos.tasks import run_whoami  # imports Celery only when first asked

        return run_whoami(timeout)

    return ArgosApp(connect=connector(database(config)), commit=lambda: commit,
                    run_task=run_task)


application = make_application()
