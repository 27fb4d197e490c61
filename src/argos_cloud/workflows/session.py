"""Opening an environment: config → clients (starting the sandbox if needed) → scope.

Every workflow starts here, so the sandbox, the emulator notice and the
lock/journal are made the same way for all commands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from argos_cloud.clock import Clock, RealClock, utc_now
from argos_cloud.config import EnvironmentSpec, load_environment
from argos_cloud.errors import BadInput
from argos_cloud.kinds.base import Noting
from argos_cloud.model.names import Scope

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients
    from argos_cloud.aws.store import ParameterStore
    from argos_cloud.engine.journal import Journal, JournalEntry
    from argos_cloud.engine.lock import EnvironmentLock

DEPLOYED_REF = "deployed-ref"  # parameter leaf holding the deployed commit
EMULATOR_NOTICE = (
    "emulator: this endpoint is a moto server — resources are recorded, but instances "
    "never boot, SSM commands are not executed (they come back 'Success' with empty "
    "output) and Salt never runs; such results are reported as emulated, not as proof")


@dataclass
class Session(Noting):
    """One environment, opened: its spec, scope, clients and where local state lives."""

    spec: EnvironmentSpec
    clients: Clients
    state_dir: Path
    clock: Clock = field(default_factory=RealClock)
    notes: list[str] = field(default_factory=list)
    on_event: Callable[[str, str], None] = lambda step, message: None
    lock_wait: float = 0  # --lock-wait: seconds to wait for a live holder
    now: Callable[[], datetime] = utc_now  # wall time of lock and journal records

    @property
    def scope(self) -> Scope:
        return Scope(self.spec.project, self.spec.name)

    @property
    def project_scope(self) -> Scope:
        return Scope(self.spec.project, None)

    def store(self) -> ParameterStore:
        from argos_cloud.aws.store import ParameterStore

        return ParameterStore(self.clients.ssm)

    def source_repository(self) -> str:
        """The repository refs are resolved in (a local folder becomes a git repository).

        On the plain emulator nothing clones: a missing local folder is noted, not fatal.
        """
        from argos_cloud.provision.source import source_repository

        try:
            return source_repository(self.spec.source.repository,
                                     self.spec.config_path.resolve().parent, self.state_dir)
        except BadInput as e:
            if not self.emulated:
                raise
            self.note(f"emulator: {e}; nothing clones here, so it is kept as written")
            return self.spec.source.repository

    def clone_url(self) -> str:
        """What the hosts clone: on the hosts sandbox a local repository's mirror."""
        from argos_cloud.provision.source import for_hosts

        return for_hosts(self.source_repository(), hosts=self.clients.hosts,
                         emulated=self.clients.emulated,
                         git_root=self.state_dir / "hosts" / "run" / "git")

    def deployed_commit(self) -> str | None:
        """The commit the last successful deploy recorded (DESIGN §3: kept in SSM)."""
        return self.store().get(self.scope.parameter(DEPLOYED_REF))

    def lock(self, operation: str) -> EnvironmentLock:
        """The environment's lock; workflows take it through workflows/operation.py."""
        from argos_cloud.engine.lock import EnvironmentLock, who_am_i

        return EnvironmentLock(self.store(), self.scope, who=who_am_i(),
                               operation=operation, wait_seconds=self.lock_wait,
                               clock=self.clock, heartbeat=True, on_note=self.note,
                               now=self.now)

    def journal(self, scope: Scope | None = None) -> Journal:
        """The history (the environment's, or `scope`'s); each finished entry is announced."""
        from argos_cloud.engine.journal import Journal

        return Journal(self.store(), scope or self.scope,
                       local_dir=self.state_dir, on_finish=self.announce, now=self.now)

    def announce(self, entry: JournalEntry) -> None:
        """Notify about an operation that ended; a failure is a warning line, nothing more."""
        from argos_cloud.workflows.notify import notify

        notify(self, entry, warn=lambda text: self.on_event("notify", text))


def state_dir_for(config_path: Path) -> Path:
    """`.argos-cloud/` beside the config file: sandbox record, history cache."""
    return config_path.resolve().parent / ".argos-cloud"


def open_clients(spec: EnvironmentSpec, environ: dict[str, str],
                 sandbox_log: Callable[[str], None] | None = None) -> Clients:
    """Clients for the spec's provider; the sandbox is started (or reused) first.

    `sandbox_log` shows the sandbox's progress (a base image build takes minutes).
    """
    from argos_cloud.aws.session import make_clients

    if spec.provider == "sandbox":
        from argos_cloud.sandbox.server import Sandbox

        info = Sandbox(state_dir_for(spec.config_path), log=sandbox_log).ensure(
            hosts=spec.sandbox.hosts, regions=(spec.region,))
        return make_clients(region=spec.region, endpoint_url=info.endpoint, sandbox=True,
                            environ=environ)
    return make_clients(region=spec.region, endpoint_url=spec.endpoint_url,
                        profile=spec.profile, environ=environ)


def open_session(config: Path, environment: str, *, profile: str | None,
                 environ: dict[str, str], clock: Clock | None = None,
                 clients: Clients | None = None,
                 sandbox_log: Callable[[str], None] | None = None) -> Session:
    """Validate the config first (no AWS call on bad input), then connect."""
    spec = load_environment(config, environment, profile=profile, environ=environ)
    session = Session(spec=spec, clients=clients or open_clients(spec, environ, sandbox_log),
                      state_dir=state_dir_for(config), clock=clock or RealClock())
    if session.emulated:
        session.note(EMULATOR_NOTICE)
    return session
