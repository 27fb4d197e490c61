"""The sandbox's child process: moto on 127.0.0.1 until SIGTERM.

Started by `Sandbox._launch` as `python -m argos_cloud.sandbox.runner`. It binds
a free port itself (no race with another program picking the same one), writes
`{pid, port}` to the ready file, and answers `IDENTITY_PATH` with its pid and
marker so the parent can tell this server from anything else on the port.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

from argos_cloud.aws.session import IDENTITY_PATH
from argos_cloud.sandbox.server import HOST, MODULE


def serve(argv: list[str] | None = None) -> None:
    """Run moto on 127.0.0.1 until SIGTERM."""
    import argparse
    import logging

    parser = argparse.ArgumentParser(prog=MODULE)
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--marker", required=True)
    parser.add_argument("--ready", type=Path, help="file to write {pid, port} to once bound")
    parser.add_argument("--state-dir", type=Path, default=Path(".argos-cloud"))
    parser.add_argument("--hosts", action="store_true", help="every instance a machine")
    parser.add_argument("--region", action="append", default=[])
    args = parser.parse_args(argv)
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from argos_cloud.sandbox import moto_fixes

    moto_fixes.apply()
    moto_app = DomainDispatcherApplication(create_backend_app)
    identity = json.dumps({"pid": os.getpid(), "marker": args.marker,
                           "hosts": bool(args.hosts)}).encode()
    # moto's backends are not thread-safe (e.g. two instances launched at once into one
    # subnet race on its shared IP generator: "generator already executing"). AWS has no
    # such limit and the tool launches in parallel, so the emulator answers one at a time.
    one_at_a_time = threading.RLock()
    served: Any = moto_app

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == IDENTITY_PATH:
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(identity)))])
            return [identity]
        if hosts is not None:
            return served(environ, start_response)  # serialised inside, with the machines
        with one_at_a_time:
            return list(moto_app(environ, start_response))

    server = make_server(HOST, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    port = server.server_address[1]
    os.environ["MOTO_PORT"] = str(port)  # moto builds some URLs (SQS, S3) from it
    hosts = None
    if args.hosts:
        from argos_cloud.sandbox.hosts.backend import Hosts
        from argos_cloud.sandbox.hosts.network import ANCHOR_IP

        hosts = Hosts(args.state_dir, port, list(args.region), _log)
        hosts.start()
        served = hosts.wsgi(moto_app)
        # The machines reach the same server at 169.254.169.254 on the same port.
        inside = make_server(ANCHOR_IP, port, app, threaded=True,
                             request_handler=MotoRequestHandler)
        threading.Thread(target=inside.serve_forever, name="aws-for-machines",
                         daemon=True).start()

    def end(*_: Any) -> None:
        if hosts is not None:
            try:
                hosts.stop()
            finally:
                os._exit(0)
        os._exit(0)  # all state is in memory: nothing to flush

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, end)
    if args.ready:
        tmp = args.ready.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "port": port}))
        os.replace(tmp, args.ready)
    server.serve_forever()


def _log(text: str) -> None:
    print(f"hosts: {text}", flush=True)


if __name__ == "__main__":
    serve()
