"""The Celery app (`celery --app argos.celery worker`): settings from celery_config.py.

The broker is also the result backend (celery_config.py says so), which is how
/celery gets its answer back from the worker.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from argos.settings import celery_config_path, celery_settings, load_module

HEARTBEAT_SECONDS = 300.0


def make_celery(settings: dict[str, Any] | None = None) -> Celery:
    """The app, configured from `settings` or else the rendered celery_config.py."""
    if settings is None:
        settings = celery_settings(load_module(celery_config_path(), "argos_celery_config"))
    celery = Celery("argos", include=["argos.tasks"])
    celery.conf.update(settings)
    celery.conf.setdefault("beat_schedule", {
        "heartbeat": {"task": "argos.tasks.heartbeat", "schedule": HEARTBEAT_SECONDS},
    })
    return celery


app = make_celery()
