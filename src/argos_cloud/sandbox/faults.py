"""botocore hooks for reliability tests: injected AWS errors and call counting.

`Faults` is a `before-send` hook: an injected answer means AWS did nothing,
and botocore's retry logic sees it like a real throttle or 5xx. `lose()` is
the other case, "AWS acted, the answer was lost": an `after-call` hook raises
`AnswerLost` once the call has succeeded. `CallCounter` counts API calls
(`before-call`) or attempts including retries (`before-send`).

Attach to `argos_cloud.aws.session.Clients` (or anything with the same
`on(event, handler, first=False)`) before the first client is made. The error
answer itself is built in `aws/errors.py`, the layer that owns botocore.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from argos_cloud.aws.errors import READ_PREFIXES, AnswerLost, error_response

__all__ = ["READ_PREFIXES", "AnswerLost", "CallCounter", "Faults", "operation_of"]


NOWHERE = "http://127.0.0.1:9/argos-cloud-injected-fault"


class HookTarget(Protocol):
    def on(self, event: str, handler: Callable[..., Any], first: bool = False) -> None: ...


@dataclass(frozen=True)
class _Fault:
    status: int
    code: str


@dataclass
class _Share:
    fraction: float
    fault: _Fault
    operations: frozenset[str] | None
    rng: random.Random


def operation_of(event_name: str) -> tuple[str, str]:
    """`before-send.ec2.RunInstances` → (`ec2`, `RunInstances`)."""
    _, _, rest = event_name.partition(".")
    service, _, operation = rest.rpartition(".")
    return service, operation


class Faults:
    """Queued and random AWS error answers, keyed by operation name.

    Keys are `RunInstances` (any service) or `ec2.RunInstances`. Thread-safe:
    the engine calls AWS from a pool.
    """

    def __init__(self) -> None:
        self._queue: dict[str, list[_Fault]] = defaultdict(list)
        self._lost: dict[str, int] = defaultdict(int)
        self._shares: list[_Share] = []
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()  # by operation name

    def add(self, operation: str, status: int = 503, code: str = "RequestLimitExceeded",
            times: int = 1) -> Faults:
        """Answer the next `times` attempts of `operation` with this error."""
        with self._lock:
            self._queue[operation] += [_Fault(status, code)] * times
        return self

    def add_share(self, fraction: float, seed: int = 0, status: int = 503,
                  code: str = "RequestLimitExceeded",
                  operations: Iterable[str] | None = None) -> Faults:
        """Fail a seeded random `fraction` of attempts (of `operations`, or of all)."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be within [0, 1], not {fraction}")
        chosen = frozenset(operations) if operations is not None else None
        with self._lock:
            self._shares.append(_Share(fraction, _Fault(status, code), chosen,
                                       random.Random(seed)))
        return self

    def lose(self, operation: str, times: int = 1) -> Faults:
        """Let `operation` succeed in AWS, then raise `AnswerLost` (`after-call`)."""
        with self._lock:
            self._lost[operation] += times
        return self

    def pending(self, operation: str) -> int:
        """Queued faults not yet used: a test can assert they were all consumed."""
        with self._lock:
            return len(self._queue.get(operation, ()))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._lost.clear()
            self._shares.clear()

    def attach(self, target: HookTarget) -> Faults:
        """Register first on `before-send` (ahead of any other hook) and on `after-call`."""
        target.on("before-send", self, first=True)
        target.on("after-call", self.after_call)
        return self

    def __call__(self, request: Any, event_name: str, **_: Any) -> Any:
        """before-send: an injected `AWSResponse`, or None to send for real."""
        service, operation = operation_of(event_name)
        fault = self._take(service, operation)
        if fault is None:
            return None
        json_protocol = "json" in str(request.headers.get("Content-Type", b""))
        response = error_response(request.url, service, json_protocol, fault.status,
                                  fault.code)
        # botocore still calls every other before-send handler; moto in-process is one
        # and would act on the request. Point it nowhere, so AWS (or moto) does nothing.
        request.url = NOWHERE
        return response

    def after_call(self, event_name: str, **_: Any) -> None:
        """after-call: raise `AnswerLost` for an operation `lose()` named."""
        service, operation = operation_of(event_name)
        with self._lock:
            for key in (f"{service}.{operation}", operation):
                if self._lost.get(key):
                    self._lost[key] -= 1
                    self.injected[operation] += 1
                    raise AnswerLost(f"{service}.{operation} succeeded; its answer was lost")

    def _take(self, service: str, operation: str) -> _Fault | None:
        with self._lock:
            for key in (f"{service}.{operation}", operation):
                queued = self._queue.get(key)
                if queued:
                    self.injected[operation] += 1
                    return queued.pop(0)
            for share in self._shares:
                wanted = share.operations is None or bool(
                    {operation, f"{service}.{operation}"} & share.operations)
                if wanted and share.rng.random() < share.fraction:
                    self.injected[operation] += 1
                    return share.fault
        return None


class CallCounter:
    """Counts AWS calls by operation name (`before-call`; on `before-send`: attempts)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()      # RunInstances: 2
        self.qualified: Counter[str] = Counter()  # ec2.RunInstances: 2
        self._lock = threading.Lock()

    def __call__(self, event_name: str, **_: Any) -> None:
        service, operation = operation_of(event_name)
        with self._lock:
            self.calls[operation] += 1
            self.qualified[f"{service}.{operation}"] += 1

    def attach(self, target: HookTarget, event: str = "before-call") -> CallCounter:
        target.on(event, self)
        return self

    def mutating(self) -> Counter[str]:
        """Calls that may change something: `plan` and `status` must make none."""
        with self._lock:
            return Counter({name: n for name, n in self.calls.items()
                            if not name.startswith(READ_PREFIXES)})

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.qualified.clear()
