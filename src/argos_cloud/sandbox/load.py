"""A bounded load on one URL, counting every answer: how the tests and the bench measure
that a change drops no request.

A few client threads (never unbounded) send `GET` in a loop, a connection
per request, each with a timeout, and count what came back: a 2xx/3xx
is served, anything else (a 5xx, a reset, a timeout) is failed and kept with
its reason. Meant for the sandbox's loopback addresses only.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType

MAX_CLIENTS = 16


@dataclass
class Tally:
    served: int = 0
    failed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.served / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        why = ", ".join(f"{n}× {r}" for r, n in self.reasons.most_common(5))
        return (f"{self.served} served, {self.failed} failed in {self.seconds:.1f} s "
                f"({self.rate:.0f}/s)" + (f": {why}" if why else ""))


class Load:
    """`with Load(url, clients=4) as load: ...` then `load.tally`."""

    def __init__(self, url: str, *, clients: int = 4, timeout: float = 30.0,
                 path: str | None = None) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"load: {url} is not an http:// URL")
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.path = path or parsed.path or "/"
        self.clients = max(1, min(clients, MAX_CLIENTS))
        self.timeout = timeout
        self.tally = Tally()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = 0.0

    def __enter__(self) -> Load:
        self._started = time.monotonic()
        self._threads = [threading.Thread(target=self._client, name=f"load-{i}", daemon=True)
                         for i in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        self.tally.seconds = time.monotonic() - self._started

    def _count(self, status: int | None, reason: str | None) -> None:
        with self._lock:
            if status is not None:
                self.tally.statuses[status] += 1
            if reason is None:
                self.tally.served += 1
            else:
                self.tally.failed += 1
                self.tally.reasons[reason] += 1

    def _client(self) -> None:
        # A connection per request: no keep-alive race (a server closing an idle
        # connection as the next request leaves) can hide or invent a failure.
        while not self._stop.is_set():
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                connection.request("GET", self.path, headers={"Connection": "close"})
                reply = connection.getresponse()
                reply.read()
                ok = 200 <= reply.status < 400
                self._count(reply.status, None if ok else f"HTTP {reply.status}")
            except (OSError, http.client.HTTPException) as e:
                self._count(None, type(e).__name__)
            finally:
                connection.close()
