"""The tasks: `whoami` answers /celery from the worker; `heartbeat` is beat's example."""

from __future__ import annotations

import logging
import socket
from typing import Any

from argos.celery import app

log = logging.getLogger(__name__)


def compute(x: int, y: int) -> dict[str, Any]:
    """What the worker sends back: a sum and the name of the machine that made it."""
    return {"result": x + y, "host": socket.gethostname()}


@app.task(name="argos.tasks.whoami")  # type: ignore[untyped-decorator]
def whoami(x: int, y: int) -> dict[str, Any]:
    return compute(x, y)


@app.task(name="argos.tasks.heartbeat")  # type: ignore[untyped-decorator]
def heartbeat() -> str:
    host = socket.gethostname()
    log.info("heartbeat from %s", host)
    return host


def run_whoami(timeout: float, x: int = 20, y: int = 22) -> dict[str, Any]:
    """Queue `whoami` through the broker and wait for its answer (the app's RunTask)."""
    from celery.exceptions import TimeoutError as CeleryTimeout

    pending = whoami.delay(x, y)
    try:
        answer: dict[str, Any] = pending.get(timeout=timeout)
    except CeleryTimeout as e:
        raise TimeoutError(str(e) or "timed out") from e
    finally:
        pending.forget()
    return {**answer, "task_id": pending.id}
