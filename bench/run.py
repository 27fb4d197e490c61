"""Benchmarks: what commission, plan, deploy and decommission cost, and how it grows.

`python bench/run.py [--quick]` (or `make bench`). Starts its own moto server subprocess,
prints a table and writes the same figures to bench/results.json. Speed targets live here,
never as timed assertions in tests. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # a fresh clone works even before `pip install -e`

from argos_cloud.aws.session import make_clients  # noqa: E402
from argos_cloud.clock import RealClock  # noqa: E402
from argos_cloud.config import load_environment  # noqa: E402
from argos_cloud.engine.graph import critical_path, makespan  # noqa: E402
from argos_cloud.sandbox.faults import CallCounter  # noqa: E402
from argos_cloud.sandbox.plain import moto_server, reset  # noqa: E402
from argos_cloud.workflows.commission import execute, prepare, step_graph  # noqa: E402
from argos_cloud.workflows.decommission import decommission, plan_decommission  # noqa: E402
from argos_cloud.workflows.session import Session  # noqa: E402
from argos_cloud.workflows.status import status  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
DEPLOY_COMMIT = "0123456789abcdef0123456789abcdef01234567"  # a commit: no `git ls-remote`
SIZES = (2, 20, 100)
PARALLEL = 4
# Modelled AWS durations (seconds) per resource kind; any other kind takes FAST.
MODELLED = {"instance": 40.0, "image": 300.0 + 40.0, "auto_scaling_group": 60.0,
            "load_balancer": 120.0}
FAST = 1.0
POLL = 1.0           # the engine polls every second (finest)
SEED_POLL = 10.0     # the seed slept a fixed 10 s between polls


# -- the moto server: argos_cloud.sandbox.plain (shared with the e2e tests)


# -- a user's folder and a session per command (as the CLI opens one per run)
def user_folder(tmp: Path, app_desired: int | None = None) -> Path:
    folder = Path(tempfile.mkdtemp(dir=tmp))
    shutil.copy(ROOT / "argos-cloud.toml", folder / "argos-cloud.toml")
    shutil.copytree(ROOT / "deploy", folder / "deploy")
    if app_desired is not None:
        config = folder / "argos-cloud.toml"
        text = config.read_text()
        start = text.index("\n[app]\n")
        end = text.index("\n[", start + 1)
        section = text[start:end]
        section = section.replace("max_size = 2", f"max_size = {max(app_desired, 2)}")
        section = section.replace("desired = 1", f"desired = {app_desired}")
        config.write_text(text[:start] + section + text[end:])
    return folder / "argos-cloud.toml"


def open_session(url: str, config: Path) -> tuple[Session, CallCounter]:
    """New clients with the counter hooked before any client exists."""
    clients = make_clients(region="us-east-1", endpoint_url=url, sandbox=True)
    counter = CallCounter().attach(clients)
    spec = load_environment(config, "qa", environ={"ARGOS_CLOUD_PROVIDER": "aws"})
    return Session(spec=spec, clients=clients, state_dir=config.parent / ".argos-cloud",
                   clock=RealClock()), counter


@dataclass
class Sample:
    seconds: float
    calls: Counter[str]


def timed(url: str, config: Path, action: Callable[[Session], Any]) -> Sample:
    session, counter = open_session(url, config)
    start = time.perf_counter()
    action(session)
    return Sample(time.perf_counter() - start, Counter(counter.calls))


def summary(samples: list[Sample]) -> dict[str, Any]:
    times = [s.seconds for s in samples]
    calls = samples[-1].calls
    return {"runs": len(samples), "median_s": statistics.median(times), "min_s": min(times),
            "max_s": max(times), "calls_total": sum(calls.values()),
            "calls_stable": all(s.calls == calls for s in samples),
            "calls": dict(sorted(calls.items()))}


# -- 1. the lifecycle
def commission_action(session: Session) -> None:
    execute(session, prepare(session), parallel=PARALLEL)


def noop_plan_action(session: Session) -> None:
    pending = prepare(session).plan.pending
    if pending:
        raise RuntimeError(f"the plan after commission is not empty: "
                           f"{[c.address for c in pending]}")


def deploy_action(session: Session) -> None:
    from argos_cloud.workflows.deploy import deploy

    deploy(session, ref=DEPLOY_COMMIT, roles=["app", "worker"], batch="50%")


def decommission_action(session: Session) -> None:
    result = decommission(session, plan_decommission(session))
    if result.remaining:
        raise RuntimeError(f"decommission left {len(result.remaining)} resource(s)")


def lifecycle(url: str, tmp: Path, runs: int) -> dict[str, Any]:
    samples: dict[str, list[Sample]] = {k: [] for k in ("commission", "noop_plan", "deploy",
                                                         "decommission")}
    deploy_error: str | None = None
    try:
        import argos_cloud.workflows.deploy  # noqa: F401
    except Exception as e:  # being finished elsewhere: say so, never fake it
        deploy_error = f"import failed: {type(e).__name__}: {e}"
    for _ in range(runs):
        reset(url)
        config = user_folder(tmp)
        samples["commission"].append(timed(url, config, commission_action))
        samples["noop_plan"].append(timed(url, config, noop_plan_action))
        if deploy_error is None:
            try:
                samples["deploy"].append(timed(url, config, deploy_action))
            except Exception as e:
                deploy_error = f"run failed: {type(e).__name__}: {e}"
                traceback.print_exc(file=sys.stderr)
        samples["decommission"].append(timed(url, config, decommission_action))
    out: dict[str, Any] = {}
    for name, got in samples.items():
        if name == "deploy" and deploy_error is not None:
            out[name] = {"measured": False, "reason": deploy_error}
        else:
            out[name] = {"measured": True, **summary(got)}
    return out


# -- 2. growth
def running_instances(url: str) -> int:
    """Proof the environment grew: every running instance on the (freshly reset) server."""
    ec2 = make_clients(region="us-east-1", endpoint_url=url, sandbox=True).ec2
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
    return sum(len(r["Instances"]) for page in pages for r in page["Reservations"])


def growth(url: str, tmp: Path, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for size in SIZES:
        reset(url)
        config = user_folder(tmp, size)
        built = timed(url, config, commission_action)
        running = running_instances(url)
        plans = [timed(url, config, noop_plan_action) for _ in range(runs)]
        reports = [timed(url, config, lambda s: status(s)) for _ in range(runs)]
        out[str(size)] = {"instances_running": running, "commission_s": built.seconds,
                          "commission_calls": sum(built.calls.values()),
                          "plan": summary(plans), "status": summary(reports)}
        reset(url)
    return out


# -- 3. modelled makespan
def engine_duration(kind: str) -> float:
    return math.ceil(MODELLED.get(kind, FAST) / POLL) * POLL


def backoff_duration(kind: str) -> float:
    """The first poll of the engine's real schedule (1 s, x1.5, cap 15 s) that sees it done."""
    ready = MODELLED.get(kind, FAST)
    if kind not in MODELLED:
        return ready  # no wait: the call itself
    at, delay = 0.0, 1.0
    while at < ready:
        at += delay
        delay = min(delay * 1.5, 15.0)
    return at


def seed_duration(kind: str) -> float:
    return math.ceil(MODELLED.get(kind, FAST) / SEED_POLL) * SEED_POLL


def modelled(url: str, tmp: Path) -> dict[str, Any]:
    reset(url)
    session, _ = open_session(url, user_folder(tmp))
    plan = prepare(session).plan
    graph = step_graph(plan)
    kinds = {c.address: c.kind for c in plan.pending}
    engine = {step: engine_duration(kinds[step]) for step in graph.steps}
    seed = {step: seed_duration(kinds[step]) for step in graph.steps}
    span = makespan(graph, engine, PARALLEL)
    backoff = makespan(graph, {step: backoff_duration(kinds[step]) for step in graph.steps},
                       PARALLEL)
    path_s, path = critical_path(graph, engine)
    baseline = sum(seed.values())
    return {"steps": len(graph), "parallel": PARALLEL,
            "modelled_s": {**MODELLED, "other kinds": FAST},
            "engine_makespan_s": span, "engine_makespan_backoff_s": backoff,
            "critical_path_s": path_s, "critical_path": path,
            "seed_sequential_s": baseline,
            "makespan_over_critical_path": span / path_s if path_s else None,
            "seed_over_makespan": baseline / span if span else None,
            "seed_over_critical_path": baseline / path_s if path_s else None,
            "makespan_by_cap": {str(n): makespan(graph, engine, n) for n in (1, 2, 4, 8, 16)}}


# -- 4. start-up
def startup(runs: int) -> dict[str, Any]:
    console = ROOT / ".venv" / "bin" / "argos-cloud"
    commands = {"argos-cloud --help": [str(console), "--help"],
                "python manage.py -h": [sys.executable, "manage.py", "-h"]}
    out: dict[str, Any] = {}
    for name, argv in commands.items():
        if not Path(argv[0]).exists():
            out[name] = {"measured": False, "reason": f"{argv[0]} not found"}
            continue
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run(argv, cwd=ROOT, capture_output=True)
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                out[name] = {"measured": False,
                             "reason": f"exit {done.returncode}: {done.stderr.decode()[-300:]}"}
                break
        else:
            out[name] = {"measured": True, "runs": runs, "median_s": statistics.median(times),
                         "min_s": min(times), "max_s": max(times)}
    return out


# -- report
def machine() -> dict[str, Any]:
    return {"cpu_count": os.cpu_count(), "python": platform.python_version(),
            "implementation": platform.python_implementation(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}


def _t(s: float) -> str:
    return f"{s * 1000:8.0f} ms" if s < 10 else f"{s:8.2f} s "


def table(results: dict[str, Any]) -> list[str]:
    m = results["machine"]
    lines = [f"argos-cloud bench — {m['date']} — {m['cpu_count']} CPU, Python {m['python']}, "
             f"{m['platform']}", "",
             f"1. lifecycle on a moto server subprocess (N={results['runs']})",
             f"   {'operation':<14}{'median':>11}{'min':>11}{'max':>11}  calls"]
    for name, r in results["lifecycle"].items():
        if not r["measured"]:
            lines.append(f"   {name:<14}  not measured: {r['reason']}")
            continue
        stable = "" if r["calls_stable"] else " (varied between runs)"
        lines.append(f"   {name:<14}{_t(r['median_s'])}{_t(r['min_s'])}{_t(r['max_s'])}  "
                     f"{r['calls_total']}{stable}")
        ops = ", ".join(f"{k} {v}" for k, v in sorted(r["calls"].items(),
                                                       key=lambda kv: (-kv[1], kv[0])))
        lines += textwrap.wrap(ops, 100, initial_indent=" " * 5, subsequent_indent=" " * 5)
    lines += ["", "2. plan and status as the app group grows (median of N; calls per run)",
              f"   {'app desired':<12}{'running':>8}{'plan':>11}{'calls':>7}{'status':>11}"
              f"{'calls':>7}{'commission':>12}"]
    for size, r in results["growth"].items():
        lines.append(f"   {size:<12}{r['instances_running']:>8}{_t(r['plan']['median_s'])}"
                     f"{r['plan']['calls_total']:>7}"
                     f"{_t(r['status']['median_s'])}{r['status']['calls_total']:>7}"
                     f"{_t(r['commission_s'])}")
    g = results["modelled"]
    lines += ["", f"3. commission graph, modelled AWS durations ({g['steps']} steps, "
              f"cap {g['parallel']})",
              f"   engine makespan      {g['engine_makespan_s']:8.0f} s",
              f"   engine makespan, its real backoff polls (1 s x1.5, cap 15 s) "
              f"{g['engine_makespan_backoff_s']:.0f} s",
              f"   critical path        {g['critical_path_s']:8.0f} s  "
              f"({' → '.join(g['critical_path'])})",
              f"   seed, sequential     {g['seed_sequential_s']:8.0f} s  (10 s polls)",
              f"   makespan / critical path {g['makespan_over_critical_path']:.2f}; "
              f"seed / makespan {g['seed_over_makespan']:.2f}; "
              f"seed / critical path {g['seed_over_critical_path']:.2f}",
              "   makespan by cap: " + ", ".join(f"{n}: {s:.0f} s"
                                                  for n, s in g["makespan_by_cap"].items()),
              "", "4. start-up (subprocess, median)"]
    for name, r in results["startup"].items():
        lines.append(f"   {name:<22}" + (f"{_t(r['median_s'])}  (min {_t(r['min_s']).strip()},"
                                          f" max {_t(r['max_s']).strip()}, N={r['runs']})"
                                          if r["measured"] else f"not measured: {r['reason']}"))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 runs instead of 5")
    args = parser.parse_args(argv)
    runs = 2 if args.quick else 5
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "runs": runs, "quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="argos-bench-") as tmp, moto_server() as url:
        results["lifecycle"] = lifecycle(url, Path(tmp), runs)
        results["growth"] = growth(url, Path(tmp), runs)
        results["modelled"] = modelled(url, Path(tmp))
    results["startup"] = startup(5 if args.quick else 10)
    from hosts import hosts_lifecycle  # bench/hosts.py, beside this script

    results["hosts"] = hosts_lifecycle()  # None where real machines cannot run
    results["bench_seconds"] = time.perf_counter() - started
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(table(results)))
    if results["hosts"]:
        print("\n5. Hosts sandbox (real machines): " + ", ".join(
            f"{k.removesuffix('_s').replace('_', ' ')} {v:.0f} s"
            for k, v in results["hosts"].items()))
    print(f"\nresults written to {RESULTS} (bench took {results['bench_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
