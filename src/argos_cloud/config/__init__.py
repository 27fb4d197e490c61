"""TOML file → validated EnvironmentSpec (base deep-merged with the environment's table)."""

from argos_cloud.config.load import DEFAULT_CONFIG, load_environment, load_file
from argos_cloud.config.schema import (
    COMMAND_WORDS,
    ROLES,
    EnvironmentSpec,
    validate_environment_name,
)

__all__ = [
    "COMMAND_WORDS",
    "DEFAULT_CONFIG",
    "ROLES",
    "EnvironmentSpec",
    "load_environment",
    "load_file",
    "validate_environment_name",
]
