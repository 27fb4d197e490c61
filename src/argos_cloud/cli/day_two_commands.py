"""`check` and `graph` at the command line: read, render, and an exit status that says
whether anything differs (4, as `plan --detailed-exitcode`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from argos_cloud.cli.args import Arguments
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.views import View
from argos_cloud.errors import BadInput, ExitStatus


def check(args: Arguments, env: Environment, view: View, session: Any,
          hook: Any) -> ExitStatus:
    from argos_cloud.workflows.check import check as run_check

    report = run_check(session)
    view.notes(report.notes)
    view.lines(report.lines())
    view.document(report.to_json())
    return ExitStatus.OK if report.clean else ExitStatus.CHANGES


def graph(args: Arguments, env: Environment, view: View, session: Any,
          hook: Any) -> ExitStatus:
    from argos_cloud.workflows.commission import prepare
    from argos_cloud.workflows.graph import (
        RENDERED,
        dot_program,
        graph_of,
        render,
        to_dot,
        to_mermaid,
    )

    fmt = str(args.options.get("format") or "svg")
    target = args.options.get("output_file")
    out_file = None if target is None else (
        Path(str(target)) if Path(str(target)).is_absolute() else env.cwd / str(target))
    if fmt == "png" and out_file is None and not view.json:
        raise BadInput("--format png needs --output-file FILE (binary is not written to a "
                       "terminal)")
    model = graph_of(prepare(session).plan)
    body: bytes
    if fmt == "mermaid":
        body = to_mermaid(model).encode()
    else:
        dot_text = to_dot(model)
        program = dot_program() if fmt in RENDERED else None
        if fmt in RENDERED and program is None:
            view.line(f"note: Graphviz's 'dot' is not installed (Debian: apt-get install "
                      f"graphviz), so this is the DOT text, not {fmt.upper()}")
            fmt = "dot"
            if out_file is not None:
                out_file = out_file.with_suffix(".dot")
        body = render(dot_text, fmt, program) if program and fmt in RENDERED else dot_text.encode()
    if out_file is not None:
        out_file.write_bytes(body)
        view.line(f"wrote {out_file} ({fmt}, {len(model.nodes)} resources, "
                  f"{len(model.edges)} edges)")
        view.document({**model.to_json(), "format": fmt, "file": str(out_file)})
    elif view.json:
        view.document({**model.to_json(), "format": fmt,
                       "text": body.decode(errors="replace") if fmt != "png" else None})
    else:
        env.stdout.write(body.decode())
    return ExitStatus.OK
