"""The pillar argos-cloud builds for an environment: every value but the secrets.

Secrets reach minions only through the master's ext_pillar (states/master),
which reads them from SSM; validation supplies `sample_secrets()` instead.
"""

from __future__ import annotations

from typing import Any

from argos_cloud.config import EnvironmentSpec
from argos_cloud.model.desired import BROKER_PORTS, DATA_DEVICE, DATABASE_PORT
from argos_cloud.model.names import Scope

# The leaves under the environment's SSM path that the master turns into
# pillar['secrets']; the master's argos-secrets script reads exactly these.
SECRET_KEYS: tuple[str, ...] = ("database_password", "secret_key", "broker_password",
                                "deploy_key")

_URL_SCHEMES = {"redis": "redis", "rabbitmq": "amqp"}  # the broker URL's scheme, by engine


def build_pillar(spec: EnvironmentSpec, *, commit: str, master_address: str | None = None,
                 database_host: str = "", broker_host: str = "",
                 vpc_cidr: str = "10.0.0.0/8", data_device: str = DATA_DEVICE,
                 repository: str | None = None) -> dict[str, Any]:
    """The non-secret pillar under `argos`; plain JSON types so it serialises as written.

    `data_device` is the name the data volume is attached under; the database
    state finds what the instance shows for it (xvdf on Xen, an NVMe disk on Nitro).
    """
    scope = Scope(spec.project, spec.name)
    scheme, port = _URL_SCHEMES[spec.broker.engine], BROKER_PORTS[spec.broker.engine]
    return {"argos": {
        "project": spec.project,
        "environment": spec.name,
        "region": spec.region,
        "commit": commit,
        "repository": repository or spec.source.repository,
        "requirements": spec.source.requirements,
        "migrate_command": spec.source.migrate_command,
        "health_path": spec.source.health_path,
        "app": {"port": spec.app.port, "wsgi_module": spec.source.wsgi_module},
        "celery_app": spec.source.celery_app,
        "database": {
            "name": spec.database.name,
            "user": spec.database.user,
            "host": database_host,
            "port": DATABASE_PORT,
            "data_device": data_device,
        },
        "broker": {
            "engine": spec.broker.engine,
            "host": broker_host,
            "port": port,
            "url_scheme": scheme,
            "user": spec.project.replace("-", "_"),
        },
        "worker": {"concurrency": spec.worker.concurrency, "beat": spec.worker.beat},
        "system_packages": list(spec.source.system_packages),
        "parameter_path": scope.parameter_path,
        "secret_keys": list(SECRET_KEYS),
        "has_deploy_key": spec.source.deploy_key is not None,
        "master_address": master_address or "",
        "vpc_cidr": vpc_cidr,
        "salt_version": spec.salt.version,
    }}


def sample_secrets() -> dict[str, str]:
    """Obviously fake values that stand in for SSM during validation only."""
    return {
        "database_password": "fake-database-password-for-validation",
        "secret_key": "fake-secret-key-for-validation",
        "broker_password": "fake-broker-password-for-validation",
        "deploy_key": ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
                       "fake-deploy-key-for-validation\n"
                       "-----END OPENSSH PRIVATE KEY-----\n"),
    }
