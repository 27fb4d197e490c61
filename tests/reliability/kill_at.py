"""Run the CLI and `kill -9` itself right after its Nth write reached AWS.

`python -m tests.reliability.kill_at N ARGV...`: the after-call hook of the
Nth mutating call sends SIGKILL to this process, so AWS has acted and the run
dies before it hears the answer — the worst boundary for a resume.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from argos_cloud.aws import session as aws_session
from argos_cloud.aws.errors import is_mutating
from argos_cloud.cli.main import run
from argos_cloud.sandbox.faults import operation_of


def main() -> None:
    target = int(sys.argv[1])
    sys.argv = [sys.argv[0], *sys.argv[2:]]
    seen = [0]
    make = aws_session.make_clients

    def after_call(event_name: str, **_: Any) -> None:
        if is_mutating(operation_of(event_name)[1]):
            seen[0] += 1
            if seen[0] == target:
                os.kill(os.getpid(), signal.SIGKILL)

    def make_clients(**kwargs: Any) -> aws_session.Clients:
        clients = make(**kwargs)
        clients.on("after-call", after_call)
        return clients

    aws_session.make_clients = make_clients
    run()


if __name__ == "__main__":
    main()
