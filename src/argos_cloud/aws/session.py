"""One boto3 session per run, its clients, and whether they talk to an emulator.

boto3 is imported here lazily so that `--help` never pays for it.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from argos_cloud.errors import BadInput

if TYPE_CHECKING:
    import boto3

SANDBOX_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
IDENTITY_PATH = "/argos-cloud/sandbox"  # where argos-cloud's sandbox says who it is


@dataclass
class Clients:
    """Lazily-made, cached boto3 clients sharing one session and its event hooks.

    `emulated` is True when the endpoint is a moto server (the sandbox or any
    endpoint answering on /moto-api/): what it cannot do for real is reported
    as emulated, never as proof. `hosts` is True on the hosts sandbox, where
    instances are real machines: then `emulated` is False.
    """

    session: boto3.Session
    region: str
    endpoint_url: str | None
    emulated: bool
    hosts: bool = False
    _cache: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._cache:
                from botocore.config import Config

                config = Config(retries={"mode": "adaptive", "total_max_attempts": 8},
                                max_pool_connections=32)
                self._cache[service] = self.session.client(
                    service, region_name=self.region, endpoint_url=self.endpoint_url,
                    config=config)
            return self._cache[service]

    @property
    def ec2(self) -> Any:
        return self.client("ec2")

    @property
    def autoscaling(self) -> Any:
        return self.client("autoscaling")

    @property
    def elbv2(self) -> Any:
        return self.client("elbv2")

    @property
    def iam(self) -> Any:
        return self.client("iam")

    @property
    def ssm(self) -> Any:
        return self.client("ssm")

    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def sts(self) -> Any:
        return self.client("sts")

    def on(self, event: str, handler: Callable[..., Any], first: bool = False) -> None:
        """Register a botocore event hook (call counting, fault injection)."""
        if first:
            self.session.events.register_first(event, handler)
        else:
            self.session.events.register(event, handler)

    def account_id(self) -> str:
        return str(self.sts.get_caller_identity()["Account"])


def answers_as_moto(endpoint_url: str | None, timeout: float = 2.0) -> bool:
    """True when the endpoint is a moto server (it serves /moto-api/)."""
    if not endpoint_url:
        return False
    url = endpoint_url.rstrip("/") + "/moto-api/config"  # small; data.json is ~12 MB
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=timeout) as reply:
            return bool(200 <= reply.status < 300) and b"batch" in reply.read(4096)
    except Exception:  # any failure means "not a moto server"
        return False


def make_clients(*, region: str | None, endpoint_url: str | None = None,
                 profile: str | None = None, sandbox: bool = False,
                 environ: dict[str, str] | None = None) -> Clients:
    """A session on the standard credential chain, or the sandbox's fixed credentials."""
    import boto3
    import botocore.exceptions

    environ = dict(os.environ) if environ is None else environ
    endpoint = endpoint_url or environ.get("AWS_ENDPOINT_URL") or None
    kwargs: dict[str, Any] = {}
    if sandbox:
        kwargs.update(SANDBOX_CREDENTIALS)
    elif profile:
        kwargs["profile_name"] = profile
    try:
        session = boto3.Session(region_name=region, **kwargs)
    except botocore.exceptions.ProfileNotFound as e:
        raise BadInput(f"AWS profile not found: {e}") from None
    resolved = region or session.region_name
    if not resolved:
        raise BadInput("no AWS region: set 'region' in the config or AWS_REGION")
    moto = sandbox or answers_as_moto(endpoint)
    hosts = moto and hosts_sandbox(endpoint)
    from argos_cloud.aws.errors import no_blind_retry

    session.events.register_first("needs-retry", no_blind_retry)
    # On the hosts sandbox instances boot and commands run: their results are proof.
    return Clients(session=session, region=resolved, endpoint_url=endpoint,
                   emulated=moto and not hosts, hosts=hosts)


def hosts_sandbox(endpoint_url: str | None, timeout: float = 2.0) -> bool:
    """True when the endpoint is argos-cloud's sandbox running real machines (DESIGN §5b)."""
    if not endpoint_url:
        return False
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(endpoint_url.rstrip("/") + IDENTITY_PATH, timeout=timeout) as reply:
            return json.loads(reply.read(4096)).get("hosts") is True
    except Exception:  # not our sandbox, or an old one: no machines
        return False
