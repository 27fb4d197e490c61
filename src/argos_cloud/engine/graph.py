"""The step graph: which steps need which first, validated once, then read by the walk.

Pure data and pure functions (no threads, no clock), so the benchmark can model a walk's
makespan and critical path with the very graph the walk runs. Imports nothing of ours.
"""

from __future__ import annotations

import graphlib
import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class StepGraph:
    """Step → the steps it needs first. Every dependency must itself be a step."""

    edges: Mapping[str, frozenset[str]]

    def __post_init__(self) -> None:
        # A private, read-only copy: a caller mutating its dict cannot change a validated graph.
        edges = {step: frozenset(needs) for step, needs in self.edges.items()}
        object.__setattr__(self, "edges", MappingProxyType(edges))
        for step in sorted(edges):
            unknown = sorted(edges[step] - edges.keys())
            if unknown:
                raise ValueError(f"step {step!r} needs unknown step(s): {', '.join(unknown)}")
        try:
            tuple(graphlib.TopologicalSorter(edges).static_order())
        except graphlib.CycleError as e:
            # graphlib lists each node before the ones needing it; read it as "needs".
            cycle = " -> ".join(str(s) for s in reversed(e.args[1]))
            raise ValueError(f"steps form a cycle (each needs the next): {cycle}") from None

    @classmethod
    def of(cls, deps: Mapping[str, Iterable[str]] | None = None, /,
           **more: Iterable[str]) -> StepGraph:
        """`StepGraph.of(sg=[], db=["sg"])`, or a mapping for names that are not identifiers."""
        merged = {**(deps or {}), **more}
        return cls({step: frozenset(needs) for step, needs in merged.items()})

    def __hash__(self) -> int:
        return hash(frozenset(self.edges.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StepGraph) and dict(self.edges) == dict(other.edges)

    def __len__(self) -> int:
        return len(self.edges)

    def __contains__(self, step: object) -> bool:
        return step in self.edges

    @property
    def steps(self) -> frozenset[str]:
        return frozenset(self.edges)

    def needs(self, step: str) -> frozenset[str]:
        """The steps `step` needs directly."""
        return self.edges[self._known(step)]

    def dependants(self, step: str) -> frozenset[str]:
        """The steps that need `step` directly."""
        self._known(step)
        return frozenset(s for s, needs in self.edges.items() if step in needs)

    def reversed(self) -> StepGraph:
        """For teardown: each step runs after everything that needed it has gone."""
        flipped: dict[str, set[str]] = {step: set() for step in self.edges}
        for step, needs in self.edges.items():
            for need in needs:
                flipped[need].add(step)
        return StepGraph({step: frozenset(s) for step, s in flipped.items()})

    def ancestors(self, step: str) -> frozenset[str]:
        """Everything `step` needs, directly or not."""
        return self._reach(step, self.edges)

    def descendants(self, step: str) -> frozenset[str]:
        """Everything that needs `step`, directly or not: what a failure of `step` skips."""
        return self._reach(step, self.reversed().edges)

    def topological_order(self) -> tuple[str, ...]:
        """Dependencies first; among steps ready together, sorted by name (deterministic)."""
        sorter = graphlib.TopologicalSorter(self.edges)
        sorter.prepare()
        order: list[str] = []
        while sorter.is_active():
            batch = sorted(sorter.get_ready())
            order.extend(batch)
            sorter.done(*batch)
        return tuple(order)

    def subgraph(self, steps: Iterable[str]) -> StepGraph:
        """Only `steps`; needs outside them are taken as already met (e.g. a partial resume)."""
        keep = frozenset(steps)
        unknown = sorted(keep - self.edges.keys())
        if unknown:
            raise ValueError(f"unknown step(s): {', '.join(unknown)}")
        return StepGraph({step: self.edges[step] & keep for step in keep})

    def _known(self, step: str) -> str:
        if step not in self.edges:
            raise ValueError(f"unknown step: {step!r}")
        return step

    def _reach(self, step: str, edges: Mapping[str, frozenset[str]]) -> frozenset[str]:
        self._known(step)
        seen: set[str] = set()
        todo = list(edges[step])
        while todo:
            s = todo.pop()
            if s not in seen:
                seen.add(s)
                todo.extend(edges[s])
        return frozenset(seen)


def _durations_for(graph: StepGraph, durations: Mapping[str, float]) -> None:
    missing = sorted(graph.steps - durations.keys())
    if missing:
        raise ValueError(f"no duration for step(s): {', '.join(missing)}")
    negative = sorted(s for s in graph.steps if durations[s] < 0)
    if negative:
        raise ValueError(f"negative duration for step(s): {', '.join(negative)}")


def makespan(graph: StepGraph, durations: Mapping[str, float], limit: int) -> float:
    """Modelled wall time of a walk: list scheduling, ready steps start in sorted order.

    The walk's policy with modelled durations instead of threads, so a benchmark can
    compare caps and graphs without AWS (moto never leaves anything pending).
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    _durations_for(graph, durations)
    waiting = {step: set(needs) for step, needs in graph.edges.items()}
    dependants = graph.reversed().edges
    ready = [step for step, needs in waiting.items() if not needs]
    heapq.heapify(ready)
    running: list[tuple[float, str]] = []
    now = 0.0
    while ready or running:
        while ready and len(running) < limit:
            step = heapq.heappop(ready)
            heapq.heappush(running, (now + float(durations[step]), step))
        now, step = heapq.heappop(running)
        finished = [step]
        while running and running[0][0] == now:
            finished.append(heapq.heappop(running)[1])
        for done in finished:
            for dependant in dependants[done]:
                waiting[dependant].discard(done)
                if not waiting[dependant]:
                    heapq.heappush(ready, dependant)
    return now


def critical_path(graph: StepGraph, durations: Mapping[str, float]) -> tuple[float, list[str]]:
    """The longest chain of needs by total duration: no cap can make a walk shorter."""
    _durations_for(graph, durations)
    finish: dict[str, float] = {}
    before: dict[str, str | None] = {}
    for step in graph.topological_order():
        needs = sorted(graph.edges[step])  # ties go to the first name: deterministic
        slowest = max(needs, key=lambda s: finish[s], default=None)
        before[step] = slowest
        finish[step] = float(durations[step]) + (finish[slowest] if slowest is not None else 0.0)
    if not finish:
        return 0.0, []
    end = max(sorted(finish), key=finish.__getitem__)
    path = [end]
    while (previous := before[path[-1]]) is not None:
        path.append(previous)
    return finish[end], path[::-1]
