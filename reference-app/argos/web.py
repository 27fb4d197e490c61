"""The WSGI application: `/health`, `/` and `/celery`, as plain WSGI (no framework).

Its collaborators are passed in (a connection factory, the commit, a task
runner, the host name), so tests run it without a database or a broker.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from argos.db import Connect, count_visit, ping

log = logging.getLogger(__name__)

CELERY_TIMEOUT = 30.0  # seconds /celery waits for the worker's answer
# Takes a timeout in seconds; returns {"result": …, "host": …, …} or raises.
RunTask = Callable[[float], dict[str, Any]]
StartResponse = Callable[..., Any]
STATUS = {200: "200 OK", 404: "404 Not Found", 405: "405 Method Not Allowed",
          503: "503 Service Unavailable", 504: "504 Gateway Timeout"}


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


@dataclass
class ArgosApp:
    connect: Connect
    commit: Callable[[], str]
    run_task: RunTask
    hostname: Callable[[], str] = field(default=socket.gethostname)
    celery_timeout: float = CELERY_TIMEOUT

    def __call__(self, environ: dict[str, Any],
                 start_response: StartResponse) -> Iterable[bytes]:
        reply = self.route(environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO") or "/")
        body = json.dumps(reply.body, sort_keys=True).encode() + b"\n"
        start_response(STATUS[reply.status], [("Content-Type", "application/json"),
                                              ("Content-Length", str(len(body))),
                                              ("Cache-Control", "no-store")])
        return [body]

    def route(self, method: str, path: str) -> Reply:
        handlers = {"/": self.index, "/health": self.health, "/health/": self.health,
                    "/celery": self.celery}
        handler = handlers.get(path)
        if handler is None:
            return Reply(404, {"error": f"no page {path}"})
        if method not in ("GET", "HEAD"):
            return Reply(405, {"error": f"{method} is not allowed here"})
        return handler()

    def health(self) -> Reply:
        """200 when the database answers; 503 otherwise (the load balancer's check)."""
        try:
            ping(self.connect)
        except Exception as e:  # any failure to reach it means unhealthy
            log.warning("health: database unreachable: %r", e)
            return Reply(503, {"status": "unhealthy", "database": "unreachable",
                               "host": self.hostname()})
        return Reply(200, {"status": "ok", "database": "ok", "host": self.hostname()})

    def index(self) -> Reply:
        """The commit, a visit counted in PostgreSQL, and the host that answered."""
        base = {"commit": self.commit(), "host": self.hostname()}
        try:
            visits = count_visit(self.connect)
        except Exception as e:
            log.warning("index: database query failed: %r", e)
            return Reply(503, {**base, "database": None, "error": f"database: {e}"})
        return Reply(200, {**base, "database": {"visits": visits}})

    def celery(self) -> Reply:
        """Queue a task through the broker; answer its result and the worker that ran it."""
        base = {"host": self.hostname()}
        try:
            answer = self.run_task(self.celery_timeout)
        except TimeoutError as e:
            return Reply(504, {**base, "error": f"no worker answered within "
                                                f"{self.celery_timeout:g} s: {e}"})
        except Exception as e:
            log.warning("celery: %r", e)
            return Reply(503, {**base, "error": f"celery: {e!r}"})
        return Reply(200, {"result": answer.get("result"), "host": answer.get("host"),
                           "task_id": answer.get("task_id"), "web_host": base["host"]})
