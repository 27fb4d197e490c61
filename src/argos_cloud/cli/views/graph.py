"""`graph`: the model as DOT or Mermaid text, and what the command wrote or printed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from argos_cloud.cli.views.base import View

if TYPE_CHECKING:
    from argos_cloud.workflows.graph import Graph

COLOUR = {"exists": "#e8e8e8", "create": "#c8f7c5", "update": "#fff3b0",
          "replace": "#f9d0f0", "delete": "#ffc9c9"}


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


def show_graph(view: View, model: Graph, fmt: str, body: bytes, out_file: Path | None) -> None:
    """Written to a file: one line saying so; else the text itself (or inside the JSON)."""
    if out_file is not None:
        view.line(f"wrote {out_file} ({fmt}, {len(model.nodes)} resources, "
                  f"{len(model.edges)} edges)")
        view.document({**model.to_json(), "format": fmt, "file": str(out_file)})
    elif view.json:
        view.document({**model.to_json(), "format": fmt,
                       "text": body.decode(errors="replace") if fmt != "png" else None})
    else:
        view.env.stdout.write(body.decode())
