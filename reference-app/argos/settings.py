"""The app's settings: the `config.py` and `celery_config.py` that Salt renders with the secrets.

The systemd units name them: ARGOS_CONFIG is the path of config.py (default
/srv/argos/etc/config.py), ARGOS_CELERY_CONFIG the path of celery_config.py
(default: beside config.py). They are loaded by path, so nothing depends on
sys.path; no secret lives anywhere else.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

DEFAULT_CONFIG = "/srv/argos/etc/config.py"


class SettingsError(RuntimeError):
    """A rendered config is missing or lacks a key the app needs."""


@dataclass(frozen=True)
class Database:
    name: str
    user: str
    password: str
    host: str
    port: int

    def connect_kwargs(self) -> dict[str, Any]:
        """psycopg.connect(**…): a short timeout, so /health answers 503 rather than hanging."""
        return {"dbname": self.name, "user": self.user, "password": self.password,
                "host": self.host, "port": self.port, "connect_timeout": 5}


def load_module(path: str | os.PathLike[str], name: str) -> ModuleType:
    """Execute a Python config file by path and return it as a module."""
    path = Path(path)
    if not path.is_file():
        raise SettingsError(f"no config at {path}: Salt renders it from the deploy templates")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("ARGOS_CONFIG") or DEFAULT_CONFIG)


def celery_config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    given = env.get("ARGOS_CELERY_CONFIG")
    return Path(given) if given else config_path(env).with_name("celery_config.py")


def database(config: ModuleType) -> Database:
    """The `default` entry of the config's Django-style DATABASES."""
    try:
        db = config.DATABASES["default"]
        return Database(name=db["NAME"], user=db["USER"], password=db["PASSWORD"],
                        host=db["HOST"], port=int(db.get("PORT") or 5432))
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise SettingsError(f"config.py has no usable DATABASES['default']: {e!r}") from e


def celery_settings(module: ModuleType) -> dict[str, Any]:
    """The lowercase names of celery_config.py: Celery's own setting names."""
    return {k: v for k, v in vars(module).items() if k.islower() and not k.startswith("_")
            and not isinstance(v, ModuleType)}
