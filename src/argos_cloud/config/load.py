"""Read the TOML file, deep-merge the environment over the base, validate, check files.

Lowest first: built-in defaults < the file's base < `[environments.<name>]` <
environment variables (ARGOS_CLOUD_PROVIDER) < flags (--profile).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from argos_cloud.config.schema import EnvironmentSpec, validate_environment_name
from argos_cloud.errors import ConfigError

DEFAULT_CONFIG = Path("argos-cloud.toml")

# Keys the file may hold besides the environment fields.
_FILE_ONLY = {"environments"}
_ENV_ONLY = {"protected"}


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; anything else in `over` wins."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_file(path: Path) -> dict[str, Any]:
    """The raw document; a missing or unparsable file is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "", "no such config file (run 'argos-cloud init' "
                          "to write a starter)") from None
    except OSError as e:
        raise ConfigError(str(path), "", f"cannot read: {e.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(path), "", f"not valid TOML: {e}") from None
    envs = raw.get("environments", {})
    if not isinstance(envs, dict):
        raise ConfigError(str(path), "environments", "must be a table of environments")
    for name, table in envs.items():
        problem = validate_environment_name(name)
        if problem:
            raise ConfigError(str(path), f"environments.{name}", problem)
        if not isinstance(table, dict):
            raise ConfigError(str(path), f"environments.{name}", "must be a table")
    for key in _ENV_ONLY & raw.keys():
        raise ConfigError(str(path), key, "belongs in an [environments.<name>] table")
    return raw


def load_environment(path: Path, name: str, *, profile: str | None = None,
                     environ: Mapping[str, str] | None = None) -> EnvironmentSpec:
    """The named environment, validated; every error names the file and the key."""
    environ = os.environ if environ is None else environ
    problem = validate_environment_name(name)
    if problem:
        from argos_cloud.errors import BadInput
        raise BadInput(problem)
    raw = load_file(path)
    envs: dict[str, Any] = raw.get("environments", {})
    if name not in envs:
        known = ", ".join(sorted(envs)) or "none"
        raise ConfigError(str(path), f"environments.{name}",
                          f"no such environment (configured: {known})")
    override = envs[name]
    base = {k: v for k, v in raw.items() if k not in _FILE_ONLY}
    merged = deep_merge(base, override)
    merged["name"] = name
    if environ.get("ARGOS_CLOUD_PROVIDER"):
        merged["provider"] = environ["ARGOS_CLOUD_PROVIDER"]
    if profile:
        merged["profile"] = profile
    merged["config_path"] = str(path)
    try:
        spec = EnvironmentSpec.model_validate(merged)
    except ValidationError as e:
        raise _config_error(path, name, override, e, environ) from None
    return _resolve_files(spec, path, name, override)


def _config_error(path: Path, name: str, override: Mapping[str, Any], e: ValidationError,
                  environ: Mapping[str, str]) -> ConfigError:
    """The first error, its location spelled as the key the user wrote."""
    errors = e.errors()
    # An unknown key (often a typo) explains the rest: report it first.
    err = next((x for x in errors if x["type"] == "extra_forbidden"), errors[0])
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc)
    if loc and loc[0] == "provider" and environ.get("ARGOS_CLOUD_PROVIDER"):
        return ConfigError("ARGOS_CLOUD_PROVIDER", "", f"must be 'sandbox' or 'aws', "
                           f"got '{environ['ARGOS_CLOUD_PROVIDER']}'")
    node: Any = override
    for part in loc:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            node = None
            break
    if node is not None:
        key = f"environments.{name}.{key}"
    kind = err["type"]
    if kind == "missing":
        message = "missing value"
    elif kind == "extra_forbidden":
        message = "unknown key"
    else:
        message = err["msg"].removeprefix("Value error, ")
        if "input" in err and kind not in ("model_type",) and not isinstance(
                err["input"], dict):
            message += f" (got {err['input']!r})"
    return ConfigError(str(path), key, message)


PUBLIC_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                    "ecdsa-sha2-nistp521")


def _looks_like_public_key(path: Path) -> bool:
    """One line `type base64 [comment]` of a type EC2 imports (moto crashes on others)."""
    import base64
    import binascii

    try:
        parts = path.read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return False
    if len(parts) < 2 or parts[0] not in PUBLIC_KEY_TYPES:
        return False
    try:
        base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _resolve_files(spec: EnvironmentSpec, path: Path, name: str,
                   override: Mapping[str, Any]) -> EnvironmentSpec:
    """Make the files the config names absolute, and refuse any that is missing."""
    root = path.resolve().parent

    def check(section: str, key: str, value: Path | None, directory: bool = False) -> Path | None:
        if value is None:
            return None
        resolved = value if value.is_absolute() else root / value
        ok = resolved.is_dir() if directory else resolved.is_file()
        where = (f"environments.{name}.{section}.{key}"
                 if key in override.get(section, {}) else f"{section}.{key}")
        if not ok:
            raise ConfigError(str(path), where, f"no such {'folder' if directory else 'file'}"
                              f" '{value}'")
        if not os.access(resolved, os.R_OK | (os.X_OK if directory else 0)):
            raise ConfigError(str(path), where, f"cannot read '{value}' (permission denied)")
        if section == "ssh" and key == "public_key" and not _looks_like_public_key(resolved):
            raise ConfigError(str(path), where, f"'{value}' is not an OpenSSH public key "
                              "(expected 'ssh-ed25519 …', 'ssh-rsa …' or 'ecdsa-sha2-… …')")
        return resolved

    source = spec.source.model_copy(update={
        "config_template": check("source", "config_template", spec.source.config_template),
        "celery_config_template": check("source", "celery_config_template",
                                        spec.source.celery_config_template),
        "deploy_key": check("source", "deploy_key", spec.source.deploy_key),
    })
    ssh = spec.ssh.model_copy(update={"public_key": check("ssh", "public_key",
                                                          spec.ssh.public_key)})
    salt = spec.salt.model_copy(update={"state_tree": check("salt", "state_tree",
                                                            spec.salt.state_tree, True)})
    if spec.ssh.cidrs and spec.ssh.public_key is None:
        raise ConfigError(str(path), "ssh.public_key",
                          "missing value: SSH CIDRs are given but no public key to import")
    return spec.model_copy(update={"source": source, "ssh": ssh, "salt": salt})
