"""The step graph and the bounded parallel walk: order, cap, failures, interruption.

Steps block on barriers and events, never on sleeps; nothing here asserts a duration.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable

import pytest

from argos_cloud.engine import (
    MultiHook,
    RecordingHook,
    StepFailed,
    StepGraph,
    StepSkipped,
    StepStarted,
    StepSucceeded,
    WalkInterrupted,
    critical_path,
    makespan,
    walk,
)
from argos_cloud.engine.events import Event
from argos_cloud.errors import Interrupted, OperationFailed

SAFETY = 10.0  # seconds a blocked step waits before giving up, so a bug fails, not hangs


class FakeRunner:
    """Runs steps by recording them; fails some; holds a group until all of it is running."""

    def __init__(self, fail: Iterable[str] = (), together: Iterable[str] = ()) -> None:
        self.fail = set(fail)
        self.together = set(together)
        self._barrier = threading.Barrier(len(self.together)) if self.together else None
        self._lock = threading.Lock()
        self.log: list[tuple[str, str]] = []  # ("start" | "finish", step), in real order
        self.in_flight = 0
        self.max_in_flight = 0

    def __call__(self, step: str) -> str:
        with self._lock:
            self.log.append(("start", step))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self._barrier is not None and step in self.together:
                self._barrier.wait(SAFETY)
            if step in self.fail:
                raise OperationFailed(f"{step} broke\nsecond line is dropped")
            return f"{step}-id"
        finally:
            with self._lock:
                self.in_flight -= 1
                self.log.append(("finish", step))

    def started(self) -> list[str]:
        return [step for what, step in self.log if what == "start"]


# --- the graph -------------------------------------------------------------------------


def test_a_dependency_on_an_unknown_step_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"'db' needs unknown step.*: vpc"):
        StepGraph.of(sg=[], db=["sg", "vpc"])


def test_a_cycle_is_refused_and_named() -> None:
    with pytest.raises(ValueError, match=r"cycle.*a -> b -> c -> a"):
        StepGraph.of(a=["b"], b=["c"], c=["a"], d=[])


def test_reversed_runs_each_step_after_everything_that_needed_it() -> None:
    graph = StepGraph.of(sg=[], db=["sg"], app=["sg"], alb=["app"], dns=["alb"])
    teardown = graph.reversed()
    assert teardown.edges == {"sg": {"db", "app"}, "db": set(), "app": {"alb"},
                              "alb": {"dns"}, "dns": set()}
    order = teardown.topological_order()
    assert order == ("db", "dns", "alb", "app", "sg")
    assert teardown.reversed() == graph


def test_order_ancestors_descendants_and_subgraph() -> None:
    graph = StepGraph({"role": frozenset(), "sg": frozenset(), "db": frozenset({"sg"}),
                       "app.template": frozenset({"sg", "role"}),
                       "app.group": frozenset({"app.template"})})
    assert graph.topological_order() == ("role", "sg", "app.template", "db", "app.group")
    assert graph.ancestors("app.group") == {"app.template", "sg", "role"}
    assert graph.descendants("sg") == {"db", "app.template", "app.group"}
    assert graph.descendants("app.group") == frozenset()
    part = graph.subgraph({"db", "app.template", "app.group"})
    assert part.edges == {"db": set(), "app.template": set(), "app.group": {"app.template"}}
    with pytest.raises(ValueError, match="unknown step"):
        graph.subgraph({"nope"})


def test_the_graph_keeps_its_own_copy_of_the_edges() -> None:
    deps = {"a": frozenset(), "b": frozenset({"a"})}
    graph = StepGraph(deps)
    deps["c"] = frozenset({"zzz"})
    assert graph.steps == {"a", "b"}


def test_makespan_and_critical_path_with_known_numbers() -> None:
    graph = StepGraph.of(sg=[], db=["sg"], app=["sg"], alb=["app"], dns=["alb"], role=[])
    durations = {"sg": 1, "db": 10, "app": 2, "alb": 3, "dns": 1, "role": 4}
    # limit 1 runs one at a time: the sum
    assert makespan(graph, durations, limit=1) == 21
    # limit 2: role, sg at 0; app 1-3; alb 3-6 (sorts before db); db 4-14 once role ends
    assert makespan(graph, durations, limit=2) == 14
    # unbounded: the critical path
    assert makespan(graph, durations, limit=10) == 11
    assert critical_path(graph, durations) == (11, ["sg", "db"])
    assert critical_path(StepGraph.of(), {}) == (0.0, [])
    with pytest.raises(ValueError, match=r"no duration for step.*: role"):
        makespan(graph, {k: v for k, v in durations.items() if k != "role"}, limit=2)


# --- the walk --------------------------------------------------------------------------


def test_every_step_starts_only_after_its_needs_finished() -> None:
    graph = StepGraph.of(a=[], b=[], c=["a"], d=["a", "b"], e=["c", "d"], f=[], g=["f", "e"],
                         h=["b"])
    for limit in (1, 2, 3, 8):
        run = FakeRunner()
        result = walk(graph, run, limit=limit)
        assert result.succeeded == graph.steps and result.ok
        assert result.details["g"] == "g-id"
        position = {entry: i for i, entry in enumerate(run.log)}
        for step, needs in graph.edges.items():
            for need in needs:
                assert position[("finish", need)] < position[("start", step)], (limit, step)


def test_ready_steps_start_in_sorted_order() -> None:
    graph = StepGraph.of(c=[], a=[], b=[], d=["c"])
    run = FakeRunner()
    hook = RecordingHook()
    walk(graph, run, limit=1, hook=hook)
    assert run.started() == ["a", "b", "c", "d"]
    assert hook.steps(StepStarted) == ["a", "b", "c", "d"]
    assert hook.of(StepSucceeded)[0] == StepSucceeded("a", "a-id")


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_the_cap_holds_and_is_reached(limit: int) -> None:
    steps = [f"s{i}" for i in range(6)]
    graph = StepGraph.of({s: [] for s in steps})
    barrier = threading.Barrier(limit)
    seen = {"now": 0, "max": 0}
    lock = threading.Lock()

    def run(step: str) -> None:
        with lock:
            seen["now"] += 1
            seen["max"] = max(seen["max"], seen["now"])
        barrier.wait(SAFETY)  # only passes once `limit` steps are running together
        with lock:
            seen["now"] -= 1

    result = walk(graph, run, limit=limit)
    assert result.succeeded == set(steps) and not result.failed
    assert seen["max"] == limit


def test_a_failure_skips_its_dependants_and_the_cap_holds() -> None:
    graph = StepGraph.of(sg=[], db=["sg"], app=["sg"], alb=["app"], dns=["alb"])
    run = FakeRunner(fail={"app"}, together={"db", "app"})
    hook = RecordingHook()
    result = walk(graph, run, limit=2, hook=hook)
    assert (result.failed, result.skipped) == ({"app": "app broke"}, {"alb", "dns"})
    assert result.succeeded == {"sg", "db"} and run.max_in_flight == 2
    assert not result.not_started and not result.interrupted and not result.ok
    assert sorted(run.started()) == ["app", "db", "sg"]  # skipped ones never ran
    assert hook.of(StepFailed) == [StepFailed("app", "app broke")]
    assert hook.of(StepSkipped) == [StepSkipped("alb", "needs app, which failed"),
                                    StepSkipped("dns", "needs app, which failed")]


def test_independent_steps_finish_after_a_failure() -> None:
    graph = StepGraph.of(a=[], b=["a"], c=[], d=["c"], e=["c"])
    result = walk(graph, FakeRunner(fail={"a"}), limit=1)
    assert result.failed.keys() == {"a"} and result.skipped == {"b"}
    assert result.succeeded == {"c", "d", "e"}


def test_exceptions_become_one_line_errors() -> None:
    class Quiet(Exception):
        pass

    def run(step: str) -> None:
        if step == "empty":
            raise Quiet()
        raise RuntimeError("first line\nsecond line")

    result = walk(StepGraph.of(empty=[], loud=[]), run)
    assert result.failed == {"empty": "Quiet", "loud": "first line"}


def test_a_set_stop_lets_running_steps_finish_and_starts_nothing_new() -> None:
    graph = StepGraph.of(a=[], b=[], c=["a"], d=["b"], e=[])
    stop = threading.Event()
    both_running = threading.Barrier(2)
    ran: list[str] = []

    def run(step: str) -> str:
        ran.append(step)
        both_running.wait(SAFETY)
        if step == "a":
            stop.set()
        else:
            assert stop.wait(SAFETY)  # b is still running when the stop arrives
        return "done"

    hook = RecordingHook()
    result = walk(graph, run, limit=2, hook=hook, stop=stop)
    assert result.interrupted
    assert result.succeeded == {"a", "b"}
    assert result.not_started == {"c", "d", "e"}
    assert sorted(ran) == ["a", "b"]
    assert len(hook.of(WalkInterrupted)) == 1


def test_a_stop_set_before_the_walk_starts_nothing() -> None:
    stop = threading.Event()
    stop.set()
    run = FakeRunner()
    result = walk(StepGraph.of(a=[], b=["a"]), run, stop=stop)
    assert result.interrupted and result.not_started == {"a", "b"} and run.log == []


@pytest.mark.parametrize("error", [KeyboardInterrupt(), Interrupted("stopped waiting")])
def test_an_interrupt_inside_a_step_is_an_interruption(error: BaseException) -> None:
    graph = StepGraph.of(a=[], b=[], c=["b"], d=[])
    both_running = threading.Barrier(2)
    seen_by_walk = threading.Event()

    class Watch:
        def on_event(self, event: Event) -> None:
            if isinstance(event, WalkInterrupted):
                seen_by_walk.set()

    def run(step: str) -> str:
        both_running.wait(SAFETY)
        if step == "a":
            raise error
        assert seen_by_walk.wait(SAFETY)  # b still runs when the walk learns of it
        return "ok"

    result = walk(graph, run, limit=2, hook=Watch())
    assert result.interrupted and not result.failed
    assert result.succeeded == {"b"}  # running alongside, it finished
    assert result.not_started == {"a", "c", "d"}  # a was cut short: redone on resume


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="needs Python's default SIGINT handler in the main thread")
def test_ctrl_c_in_the_walking_thread_drains_running_steps() -> None:
    assert threading.current_thread() is threading.main_thread()
    seen_by_walk = threading.Event()

    class Watch:
        def on_event(self, event: Event) -> None:
            if isinstance(event, WalkInterrupted):
                seen_by_walk.set()

    def run(step: str) -> str:
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        assert seen_by_walk.wait(SAFETY)  # still running while the walk takes the Ctrl-C
        return "finished anyway"

    hook = RecordingHook()
    graph = StepGraph.of(a=[], b=["a"], c=[])
    result = walk(graph, run, limit=1, hook=MultiHook(Watch(), hook))
    assert result.interrupted
    assert result.succeeded == {"a"} and result.details["a"] == "finished anyway"
    assert result.not_started == {"b", "c"}
    assert hook.of(WalkInterrupted) == [WalkInterrupted(("a",))]


def test_an_empty_graph_is_an_empty_success() -> None:
    result = walk(StepGraph.of(), FakeRunner())
    assert result.ok and result.succeeded == set()


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        walk(StepGraph.of(a=[]), FakeRunner(), limit=0)


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="needs Python's default SIGINT handler in the main thread")
def test_a_keyboard_interrupt_raised_in_the_walking_thread_drains_running_steps() -> None:
    a_done, seen_by_walk = threading.Event(), threading.Event()

    class Watch:
        def on_event(self, event: Event) -> None:
            if event == StepSucceeded("a", "ok"):
                a_done.set()
            if isinstance(event, WalkInterrupted):
                seen_by_walk.set()

    def run(step: str) -> str:
        if step == "b":  # interrupt once the walk has nothing left to hand out but c
            assert a_done.wait(SAFETY)
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
            assert seen_by_walk.wait(SAFETY)
        return "ok"

    def raise_keyboard_interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, raise_keyboard_interrupt)
    try:
        result = walk(StepGraph.of(a=[], b=[], c=["b"]), run, limit=2, hook=Watch())
    finally:
        signal.signal(signal.SIGINT, previous)
    assert result.interrupted
    assert result.succeeded == {"a", "b"} and result.not_started == {"c"}
