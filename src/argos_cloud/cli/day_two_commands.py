"""`status`, `check` and `graph` at the command line: read, render, and for `check` an exit
status that says whether anything differs (4, as `plan --detailed-exitcode`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from argos_cloud.cli.args import Arguments
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.options import GraphOptions, expect
from argos_cloud.cli.views import ProgressHook, View
from argos_cloud.cli.views.day_two import show_check, show_status
from argos_cloud.cli.views.graph import show_graph, to_dot, to_mermaid
from argos_cloud.errors import BadInput, ExitStatus

if TYPE_CHECKING:
    from argos_cloud.workflows.session import Session


def status(args: Arguments, env: Environment, view: View, session: Session,
           hook: ProgressHook) -> ExitStatus:
    from argos_cloud.workflows.status import status as read_status

    show_status(view, read_status(session))
    return ExitStatus.OK


def check(args: Arguments, env: Environment, view: View, session: Session,
          hook: ProgressHook) -> ExitStatus:
    from argos_cloud.workflows.check import check as run_check

    report = run_check(session)
    show_check(view, report)
    return ExitStatus.OK if report.clean else ExitStatus.CHANGES


def graph(args: Arguments, env: Environment, view: View, session: Session,
          hook: ProgressHook) -> ExitStatus:
    from argos_cloud.workflows.commission import prepare
    from argos_cloud.workflows.graph import RENDERED, dot_program, graph_of, render

    options = expect(args.options, GraphOptions)
    fmt = options.format
    target = options.output_file
    out_file = None if target is None else (target if target.is_absolute() else env.cwd / target)
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
    show_graph(view, model, fmt, body, out_file)
    return ExitStatus.OK
