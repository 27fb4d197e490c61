"""The end-to-end fixtures (a moto server subprocess, a user's folder), for CLI-level faults."""

from tests.e2e.conftest import cli, moto_server, project

__all__ = ["cli", "moto_server", "project"]
