"""`graph`: the environment's resources by role, their dependency edges, and what the plan
would do to each; Graphviz's `dot` turns DOT text (written by `cli/views/graph.py`) into
SVG or PNG.

The model is made from the plan alone (pure); only `render` runs a program.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from argos_cloud.errors import OperationFailed
from argos_cloud.plan.types import Action, Plan

MARK = {Action.NOOP: "exists", Action.CREATE: "create", Action.UPDATE: "update",
        Action.REPLACE: "replace", Action.DELETE: "delete"}
ROLE_ORDER = ("image", "shared", "lb", "master", "database", "broker", "app", "worker")
RENDERED = ("svg", "png")


@dataclass(frozen=True)
class Node:
    address: str
    kind: str
    role: str
    name: str
    mark: str  # exists, create, update, replace, delete


@dataclass(frozen=True)
class Graph:
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[tuple[str, str], ...]  # (needed, needing): arrows point the way things are built

    def by_role(self) -> dict[str, list[Node]]:
        order = {r: i for i, r in enumerate(ROLE_ORDER)}
        out: dict[str, list[Node]] = {}
        for n in sorted(self.nodes, key=lambda n: (order.get(n.role, 99), n.address)):
            out.setdefault(n.role, []).append(n)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title,
                "nodes": [{"address": n.address, "kind": n.kind, "role": n.role,
                           "name": n.name, "action": n.mark} for n in self.nodes],
                "edges": [{"from": a, "to": b} for a, b in self.edges]}


def graph_of(plan: Plan) -> Graph:
    """Every resource of the plan once (a delete of a twin gets its id), edges from needs."""
    nodes: dict[str, Node] = {}
    for c in plan.changes:
        address = c.address
        if address in nodes and c.before is not None:
            address = f"{address}#{c.before.id}"
        nodes[address] = Node(address, c.kind, c.role, c.name, MARK[c.action])
    edges = sorted({(need, c.address) for c in plan.changes for need in c.needs
                    if need in nodes and c.address in nodes})
    return Graph(f"{plan.project}/{plan.environment}", tuple(nodes.values()), tuple(edges))


def dot_program() -> str | None:
    """Graphviz's `dot`, when installed (Debian: `apt-get install graphviz`)."""
    return shutil.which("dot")


def render(dot_text: str, fmt: str, program: str) -> bytes:
    """DOT → SVG or PNG through Graphviz."""
    done = subprocess.run([program, f"-T{fmt}"], input=dot_text.encode(), capture_output=True,
                          timeout=60, check=False)
    if done.returncode != 0:
        raise OperationFailed(f"graphviz dot failed: {done.stderr.decode(errors='replace')[:200]}")
    return done.stdout
