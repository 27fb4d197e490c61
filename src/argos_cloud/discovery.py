"""Every kind's read at once: what exists for an environment, found by tags alone.

One batched describe per kind, the kinds read in parallel. No local record is
consulted, so this works after an interrupted run and from another machine.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from argos_cloud.aws.errors import as_aws_error, is_client_error
from argos_cloud.kinds import KIND_NAMES, kind_module
from argos_cloud.model.names import Scope
from argos_cloud.plan.types import Actual, fingerprint

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients


@dataclass(frozen=True)
class ActualState:
    """What discovery found, by kind."""

    by_kind: dict[str, list[Actual]]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.by_kind)

    def all(self) -> list[Actual]:
        return [a for kind in KIND_NAMES for a in self.by_kind.get(kind, [])]

    def by_address(self) -> dict[str, list[Actual]]:
        out: dict[str, list[Actual]] = {}
        for a in self.all():
            out.setdefault(a.address, []).append(a)
        return out

    def first(self, address: str) -> Actual | None:
        found = self.by_address().get(address)
        return found[0] if found else None

    @property
    def empty(self) -> bool:
        return not self.all()


def discover(clients: Clients, scope: Scope, kinds: Iterable[str] = KIND_NAMES,
             *, parallel: int = 6) -> ActualState:
    """Read every kind for `scope`; an AWS error becomes one AwsError line."""
    names = list(kinds)

    def read(name: str) -> list[Actual]:
        try:
            return list(kind_module(name).read(clients, scope))
        except Exception as e:
            if is_client_error(e):
                raise as_aws_error(f"reading {name.replace('_', ' ')}s", e) from e
            raise

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        results = dict(zip(names, pool.map(read, names), strict=True))
    return ActualState(results)
