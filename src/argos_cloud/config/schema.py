"""The shape of an environment, as pydantic models that refuse unknown keys.

`EnvironmentSpec` is what every layer below the CLI receives: the file's base
merged with `[environments.<name>]`, paths resolved against the file's folder.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

ROLES = ("master", "database", "broker", "app", "worker")

# First words of the command line that can never be environment names.
COMMAND_WORDS = frozenset({
    "sandbox", "init", "validate", "help", "version", "commission", "plan", "deploy",
    "rollback", "status", "history", "decommission", "clean", "unlock", "all", "shared",
    "check", "graph", "scale", "exec", "logs",
})

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
COMMIT = re.compile(r"[0-9a-fA-F]{40}")
REF_CHARS = re.compile(r"[A-Za-z0-9._/+@-]+")  # no shell metacharacters, spaces or controls
MAX_REF_LENGTH = 255


def git_ref_problem(ref: str) -> str | None:
    """Why `ref` is not a 40-hex commit or a valid git ref name (check-ref-format), or None.

    Stricter than git on characters: anything a shell would read as syntax is refused,
    and a leading '-' (it would be an option to git) too.
    """
    if COMMIT.fullmatch(ref):
        return None
    if not ref:
        return "is empty"
    if len(ref) > MAX_REF_LENGTH:
        return f"is longer than {MAX_REF_LENGTH} characters"
    if ref.startswith("-"):
        return "starts with '-'"
    if not REF_CHARS.fullmatch(ref):
        bad = sorted({c for c in ref if not REF_CHARS.fullmatch(c)})
        return f"has characters a ref name cannot hold: {' '.join(repr(c) for c in bad)}"
    if ref == "@" or "@{" in ref or ".." in ref or "//" in ref:
        return "is not a valid git ref name ('@', '@{', '..' or '//')"
    if ref.startswith("/") or ref.endswith(("/", ".")):
        return "is not a valid git ref name (it starts with '/' or ends with '/' or '.')"
    if any(part.startswith(".") or part.endswith(".lock") for part in ref.split("/")):
        return "is not a valid git ref name (a part starts with '.' or ends with '.lock')"
    return None




def validate_environment_name(name: str) -> str | None:
    """None when `name` is a good environment name, else why not."""
    if not _NAME.match(name) or name.endswith("-"):
        return (f"'{name}' is not a valid environment name: use lowercase letters, digits "
                "and hyphens, start with a letter, at most 16 characters")
    if name in COMMAND_WORDS:
        return f"'{name}' is a command word and cannot name an environment"
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImageConfig(_Strict):
    """The base AMI: an explicit id, or the newest image matching a name pattern and owner."""

    base_ami_id: str | None = Field(default=None, pattern=r"^ami-[0-9a-f]{8,17}$")
    base_ami_name: str | None = None
    base_ami_owner: str | None = None
    root_volume_size: StrictInt = Field(default=16, ge=8, le=1024)

    @model_validator(mode="after")
    def _one_way_to_find(self) -> ImageConfig:
        if self.base_ami_id is None and not (self.base_ami_name and self.base_ami_owner):
            raise ValueError("give base_ami_id, or base_ami_name and base_ami_owner")
        return self


class SourceConfig(_Strict):
    """The application: where its code is and the seed's config templates."""

    repository: str = Field(min_length=1)
    ref: str = Field(default="main", min_length=1)

    @field_validator("ref")
    @classmethod
    def _ref_is_a_ref(cls, ref: str) -> str:
        problem = git_ref_problem(ref)
        if problem:
            raise ValueError(f"{ref!r} {problem}: give a branch, a tag or a 40-hex commit")
        return ref
    config_template: Path
    celery_config_template: Path
    deploy_key: Path | None = None
    health_path: str = Field(default="/health", pattern=r"^/")
    wsgi_module: str = "argos.wsgi:application"
    celery_app: str = "argos.celery"
    requirements: str = "requirements.txt"
    # Run with the app's venv first on PATH, once per commit; "" runs none.
    migrate_command: str = Field(default="python -m argos.migrate", pattern=r"^[^\n\r]*$")
    system_packages: tuple[str, ...] = ()


class SshConfig(_Strict):
    """SSH stays closed unless CIDRs are given; a key pair is imported only then."""

    public_key: Path | None = None
    cidrs: tuple[str, ...] = ()

    @field_validator("cidrs")
    @classmethod
    def _cidrs_are_narrow(cls, cidrs: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in cidrs:
            try:  # v4 or v6; host bits set (10.0.0.1/24) are AWS's error too
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError as e:
                raise ValueError(f"'{cidr}' is not a CIDR block ({e})") from None
            if "/" not in cidr:
                raise ValueError(f"'{cidr}' is not a CIDR block (no /prefix length)")
            if network.prefixlen == 0:
                raise ValueError(f"'{cidr}' opens SSH to the whole internet")
        return cidrs


class NetworkConfig(_Strict):
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] = ()


class SaltConfig(_Strict):
    state_tree: Path | None = None  # None: the tree packaged with argos-cloud
    version: str = "3008.4"


class InstanceRole(_Strict):
    instance_type: str = Field(default="t3.small", pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
    volume_size: StrictInt = Field(default=16, ge=8, le=16384)


class DatabaseRole(InstanceRole):
    data_volume_size: StrictInt = Field(default=20, ge=1, le=16384)
    name: str = Field(default="argos", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    user: str = Field(default="argos", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    # None: final snapshots are kept forever; N: decommission keeps the newest N.
    keep_final_snapshots: StrictInt | None = Field(default=None, ge=1, le=1000)


class BrokerRole(InstanceRole):
    engine: Literal["redis", "rabbitmq"] = "redis"


class GroupRole(InstanceRole):
    min_size: StrictInt = Field(default=1, ge=0, le=1000)
    max_size: StrictInt = Field(default=2, ge=0, le=1000)
    desired: StrictInt = Field(default=1, ge=0, le=1000)
    cpu_target: float = Field(default=60.0, gt=0, le=100)

    @model_validator(mode="after")
    def _sizes_in_order(self) -> GroupRole:
        if not self.min_size <= self.desired <= self.max_size:
            raise ValueError(
                f"need min_size <= desired <= max_size, got {self.min_size} <= "
                f"{self.desired} <= {self.max_size}")
        return self


class WorkerRole(GroupRole):
    beat: StrictBool = True
    concurrency: StrictInt = Field(default=2, ge=1, le=256)


class AppRole(GroupRole):
    port: StrictInt = Field(default=8000, ge=1024, le=65535)


class SandboxConfig(_Strict):
    """`[sandbox]`: `hosts = true` boots every instance as a machine here (root, Linux)."""

    hosts: StrictBool = False


class NotifyConfig(_Strict):
    """Where operations are announced when they end; no secret is ever in a message."""

    webhook: str | None = None
    sns_topic_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:"
                                      r"\d{12}:[A-Za-z0-9_-]{1,256}$")

    @model_validator(mode="after")
    def _webhook_is_https(self) -> NotifyConfig:
        hook = self.webhook
        loopback = ("http://127.0.0.1", "http://localhost", "http://[::1]")
        if hook is not None and not (hook.startswith("https://") or
                                     hook.startswith(loopback)):
            raise ValueError("webhook must be an https:// URL (plain http only to this "
                             "machine's loopback)")
        return self


class EnvironmentSpec(_Strict):
    """One environment, fully merged and validated: the input of every workflow."""

    name: str
    project: str = Field(pattern=r"^[a-z][a-z0-9-]{0,19}$")
    provider: Literal["sandbox", "aws"] = "sandbox"
    region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    endpoint_url: str | None = None
    profile: str | None = None
    protected: StrictBool = False
    image: ImageConfig
    source: SourceConfig
    ssh: SshConfig = SshConfig()
    network: NetworkConfig = NetworkConfig()
    salt: SaltConfig = SaltConfig()
    master: InstanceRole = InstanceRole()
    database: DatabaseRole = DatabaseRole()
    broker: BrokerRole = BrokerRole()
    app: AppRole = AppRole()
    worker: WorkerRole = WorkerRole()
    sandbox: SandboxConfig = SandboxConfig()
    notify: NotifyConfig = NotifyConfig()
    config_path: Path = Path("argos-cloud.toml")

    @property
    def ssh_enabled(self) -> bool:
        return bool(self.ssh.cidrs)

    def role(self, name: str) -> InstanceRole:
        return getattr(self, name)  # type: ignore[no-any-return]
