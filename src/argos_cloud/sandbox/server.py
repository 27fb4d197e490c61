"""The sandbox: a moto server on 127.0.0.1 that outlives the CLI (DESIGN §5).

The parent side (`Sandbox`) imports only the standard library and our errors,
so `status` and `stop` never pay for moto. The child
(`python -m argos_cloud.sandbox.runner`) imports moto itself. A record in
`.argos-cloud/sandbox.json` names the server; it is trusted only when the pid
is alive, its command line carries the record's marker and the port answers
with that same pid and marker: a foreign process is never signalled.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import signal
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from argos_cloud.aws.session import IDENTITY_PATH  # answered by our wrapper around moto
from argos_cloud.clock import Clock, RealClock, utc_stamp
from argos_cloud.errors import OperationFailed, Refused
from argos_cloud.processes import process_alive, process_args
from argos_cloud.waiting import wait_until

MODULE = "argos_cloud.sandbox.runner"  # the child; also how /proc tells it is ours
RECORD, LOCK, LOG = "sandbox.json", "sandbox.lock", "sandbox.log"
HOST = "127.0.0.1"

Log = Callable[[str], None]


@dataclass(frozen=True)
class SandboxInfo:
    """What `sandbox status` shows; `running` is False for any stale record."""

    endpoint: str | None
    pid: int | None
    running: bool
    port: int | None
    state_dir: str
    started_at: str | None
    hosts: bool = False  # every instance a booted machine (DESIGN §5b)
    machines: tuple[dict[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["mode"] = "hosts" if self.hosts else "api"
        out["machines"] = list(self.machines)
        return out


@dataclass(frozen=True)
class _Record:
    """The JSON in sandbox.json; `marker` ties the pid and the port to our server."""

    pid: int
    port: int
    endpoint: str
    started_at: str
    marker: str
    hosts: bool = False

    @classmethod
    def parse(cls, text: str) -> _Record | None:
        try:
            raw = json.loads(text)
            return cls(pid=int(raw["pid"]), port=int(raw["port"]), endpoint=str(raw["endpoint"]),
                       started_at=str(raw["started_at"]), marker=str(raw["marker"]),
                       hosts=bool(raw.get("hosts", False)))
        except (ValueError, KeyError, TypeError):
            return None  # corrupt or foreign: treated as stale


class Sandbox:
    """Starts, finds, resets and stops the project's moto server under `state_dir`."""

    def __init__(self, state_dir: Path, *, start_timeout: float = 30.0,
                 stop_timeout: float = 5.0, probe_timeout: float = 2.0,
                 clock: Clock | None = None, log: Log | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.clock = clock or RealClock()
        self.log: Log = log or logging.getLogger(__name__).info  # progress: the caller shows it
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.probe_timeout = probe_timeout

    def start(self, *, hosts: bool = False, regions: tuple[str, ...] = ()) -> SandboxInfo:
        """Reuse the running server or start one; serialized across processes.

        With `hosts`, every instance is a machine (root, Linux): what is missing
        is said before anything starts, and the base image is built first.
        """
        if hosts:
            from argos_cloud.sandbox.hosts.backend import WHEELS
            from argos_cloud.sandbox.hosts.baseimage import ensure_base_image, ensure_wheelhouse
            from argos_cloud.sandbox.hosts.system import require

            require()
            from argos_cloud.sandbox.hosts.backend import claim_computer

            claim_computer(self.state_dir / "hosts", write=False)
            record = self._read_record()
            if record is not None and not record.hosts and self._answers(record):
                raise Refused("the sandbox runs without hosts (API only); "
                              "`argos-cloud sandbox stop` it first, then start it with --hosts")
            ensure_base_image(self.log)
            ensure_wheelhouse(self.log, WHEELS)
        with self._locked():
            return self._ensure_locked(hosts=hosts, regions=regions)

    def ensure(self, *, hosts: bool = False, regions: tuple[str, ...] = ()) -> SandboxInfo:
        """What every command needing AWS calls: the same as `start`."""
        return self.start(hosts=hosts, regions=regions)

    def status(self) -> SandboxInfo:
        """Report without starting, killing or deleting anything."""
        record = self._read_record()
        if record is not None and self._answers(record):
            return self._info(record)
        return self._stopped()

    def stop(self) -> SandboxInfo:
        """End our own recorded server (never a foreign pid) and remove the record.

        Then whatever the hosts sandbox recorded is undone from here too, so a
        sandbox killed with -9 leaves no machine, link, rule or device behind.
        """
        if not self.state_dir.is_dir():
            return self._stopped()
        with self._locked():
            record = self._read_record()
            if record is not None:
                self._discard(record)
            if (self.state_dir / "hosts").is_dir():
                from argos_cloud.sandbox.hosts.records import Records, teardown

                teardown(Records(self.state_dir / "hosts"), clock=self.clock)
            return self._stopped()

    def reset(self) -> SandboxInfo:
        """Empty every emulated service; starts a server when none runs."""
        with self._locked():
            info = self._ensure_locked()
            url = f"{info.endpoint}/moto-api/reset"
            try:
                request = urllib.request.Request(url, data=b"", method="POST")
                with loopback_open(request, timeout=60) as reply:
                    reply.read()
            except OSError as e:
                raise OperationFailed(f"sandbox reset failed at {url}: {e}") from e
            return info

    # -- the record -------------------------------------------------------------

    def _ensure_locked(self, *, hosts: bool = False,
                       regions: tuple[str, ...] = ()) -> SandboxInfo:
        record = self._read_record()
        if record is not None:
            if self._answers(record):
                return self._info(record)
            self._discard(record)
        return self._info(self._launch(hosts=hosts, regions=regions))

    def _read_record(self) -> _Record | None:
        try:
            return _Record.parse((self.state_dir / RECORD).read_text())
        except OSError:
            return None

    def _write_record(self, record: _Record) -> None:
        tmp = self.state_dir / f".{RECORD}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(asdict(record), indent=2) + "\n")
        os.replace(tmp, self.state_dir / RECORD)  # atomic: readers see old or new

    def _discard(self, record: _Record) -> None:
        """Drop a record; end its process only when it is provably our server."""
        if _is_ours(record.pid, record.marker):
            # A hosts sandbox powers its machines off before it exits.
            _terminate(record.pid, 180.0 if record.hosts else self.stop_timeout, self.clock)
        with contextlib.suppress(FileNotFoundError):
            (self.state_dir / RECORD).unlink()

    def _answers(self, record: _Record) -> bool:
        if not _is_ours(record.pid, record.marker):
            return False
        identity = _identity(record.port, self.probe_timeout)
        return identity == {"pid": record.pid, "marker": record.marker}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._prepare_dir()
        with open(self.state_dir / LOCK, "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _prepare_dir(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        ignore = self.state_dir / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n")

    def _info(self, record: _Record) -> SandboxInfo:
        return SandboxInfo(endpoint=record.endpoint, pid=record.pid, running=True,
                           port=record.port, state_dir=str(self.state_dir),
                           started_at=record.started_at, hosts=record.hosts,
                           machines=tuple(self._machines()) if record.hosts else ())

    def _machines(self) -> list[dict[str, str]]:
        try:
            rows = json.loads((self.state_dir / "hosts" / "hosts.json").read_text())
        except (OSError, ValueError):
            return []
        return [{str(k): str(v) for k, v in row.items()} for row in rows]

    def _stopped(self) -> SandboxInfo:
        return SandboxInfo(endpoint=None, pid=None, running=False, port=None,
                           state_dir=str(self.state_dir), started_at=None)

    # -- starting a server ------------------------------------------------------

    def _launch(self, *, hosts: bool = False, regions: tuple[str, ...] = ()) -> _Record:
        """Spawn a detached child; it binds a free loopback port and reports it."""
        marker = secrets.token_hex(8)
        ready = self.state_dir / f"sandbox.{marker}.ready"
        log = self.state_dir / LOG
        argv = [sys.executable, "-m", MODULE, "--port", "0", "--marker", marker,
                "--ready", str(ready), "--state-dir", str(self.state_dir)]
        if hosts:
            argv += ["--hosts", *(f"--region={r}" for r in dict.fromkeys(
                (*regions, "us-east-1")))]
        pid = os.posix_spawn(sys.executable, argv, _child_env(), setsid=True, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ])  # no Popen object: the server must outlive us without a ResourceWarning
        timeout = max(self.start_timeout, 120.0) if hosts else self.start_timeout
        port: int | None = None

        def answering() -> bool:
            nonlocal port
            port = _ready_port(ready)
            if port is not None and _identity(port, self.probe_timeout) == {
                    "pid": pid, "marker": marker}:
                return True
            if not process_alive(pid, reap=True):
                raise OperationFailed("the sandbox server exited while starting",
                                      detail=_tail(log))
            return False

        try:
            if not wait_until(answering, clock=self.clock, timeout=timeout, initial=0.05,
                              cap=0.5):
                _terminate(pid, self.stop_timeout, self.clock)
                raise OperationFailed(
                    f"the sandbox server did not answer within {timeout:.0f} s",
                    detail=_tail(log))
        finally:
            with contextlib.suppress(FileNotFoundError):
                ready.unlink()
        assert port is not None  # answering() held
        started = utc_stamp()
        record = _Record(pid=pid, port=port, endpoint=f"http://{HOST}:{port}",
                         started_at=started, marker=marker, hosts=hosts)
        self._write_record(record)
        return record


# -- processes ---------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    """Our environment, plus what the server needs: managed policies and our package."""
    env = dict(os.environ)
    env.pop("MOTO_EC2_LOAD_DEFAULT_AMIS", None)  # the sandbox needs moto's default images
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # AmazonSSMManagedInstanceCore
    env["PYTHONUNBUFFERED"] = "1"
    package_root = str(Path(__file__).resolve().parents[2])
    paths = [package_root, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def _is_ours(pid: int, marker: str) -> bool:
    """Alive and launched by us with this marker (checked on /proc when it exists)."""
    if pid <= 0 or not process_alive(pid, reap=True):
        return False
    if not Path("/proc/self").exists():
        return True  # no /proc: the port's identity answer (pid + marker) decides
    args = process_args(pid) or []
    return MODULE in args and marker in args


def _terminate(pid: int, timeout: float, clock: Clock) -> None:
    """SIGTERM, then SIGKILL after `timeout`; returns once the pid is gone."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
            os.kill(pid, signal.SIGCONT)  # a stopped process would never see SIGTERM
        if wait_until(lambda: not process_alive(pid, reap=True), clock=clock, timeout=wait,
                      initial=0.02, cap=0.2):
            return
    if process_alive(pid, reap=True):
        raise OperationFailed(f"sandbox server pid {pid} did not stop")


def loopback_open(request: urllib.request.Request, timeout: float) -> Any:
    """urlopen that ignores HTTP(S)_PROXY: the sandbox is on 127.0.0.1, never behind a proxy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return opener.open(request, timeout=timeout)


def _identity(port: int, timeout: float) -> dict[str, Any] | None:
    """The pid and marker the server on `port` says it has, or None."""
    try:
        url = f"http://{HOST}:{port}{IDENTITY_PATH}"
        with loopback_open(urllib.request.Request(url), timeout=timeout) as reply:
            raw = json.loads(reply.read())
        return {"pid": int(raw["pid"]), "marker": str(raw["marker"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _ready_port(ready: Path) -> int | None:
    try:
        return int(json.loads(ready.read_text())["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _tail(log: Path, size: int = 2000) -> str:
    try:
        return log.read_text(errors="replace")[-size:]
    except OSError:
        return ""
