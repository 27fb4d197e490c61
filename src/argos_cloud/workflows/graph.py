"""`graph`: the environment's resources by role, their dependency edges, and what the plan
would do to each, as DOT or Mermaid text; Graphviz's `dot` turns DOT into SVG or PNG.

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
COLOUR = {"exists": "#e8e8e8", "create": "#c8f7c5", "update": "#fff3b0",
          "replace": "#f9d0f0", "delete": "#ffc9c9"}
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


def _id(address: str) -> str:
    return "n_" + "".join(ch if ch.isalnum() else "_" for ch in address)


def to_dot(g: Graph) -> str:
    out = [f'digraph "{g.title}" {{', "  rankdir=LR;", '  node [shape=box, style="rounded,filled",'
           ' fontname="Helvetica", fontsize=10];', f'  label="{g.title}: what commission '
           'would do"; labelloc=t; fontname="Helvetica";']
    for role, nodes in g.by_role().items():
        out.append(f'  subgraph "cluster_{role}" {{')
        out.append(f'    label="{role}"; style=dashed;')
        for n in nodes:
            out.append(f'    {_id(n.address)} [label="{n.address}\\n{n.mark}", '
                       f'fillcolor="{COLOUR[n.mark]}", tooltip="{n.name}"];')
        out.append("  }")
    out += [f"  {_id(a)} -> {_id(b)};" for a, b in g.edges]
    out.append("}")
    return "\n".join(out) + "\n"


def to_mermaid(g: Graph) -> str:
    out = ["flowchart LR"]
    for role, nodes in g.by_role().items():
        out.append(f"  subgraph {role}")
        out += [f'    {_id(n.address)}["{n.address}<br/>{n.mark}"]:::{n.mark}' for n in nodes]
        out.append("  end")
    out += [f"  {_id(a)} --> {_id(b)}" for a, b in g.edges]
    out += [f"  classDef {mark} fill:{colour}" for mark, colour in COLOUR.items()]
    return "\n".join(out) + "\n"


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
