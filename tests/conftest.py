"""Shared fixtures. Order matters: environment first, then moto, then anything boto3.

moto must be imported before any boto3 session or client exists, or that
session escapes `mock_aws` and calls real AWS.
"""

from __future__ import annotations

import os

# --- 1. Process environment: fake credentials, one region, no real endpoint or profile. ---
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # Emulator settings, read when moto loads (before its import):
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",  # 0 images instead of ~1300: fast, unambiguous
})
for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

# --- 2. moto, before anything that could create a boto3 session. ---
import moto  # noqa: E402

# isort: split
# --- 3. Everything else. ---
import threading  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import moto.core.botocore_stubber  # noqa: E402
import pytest  # noqa: E402

from argos_cloud.aws.session import Clients, make_clients  # noqa: E402
from argos_cloud.model.names import Scope  # noqa: E402

# --- moto in-process answers one request at a time ---
# Its backends are not thread-safe (two instances launched at once into one subnet race
# on the subnet's IP generator: "generator already executing"), and the engine calls
# AWS from a thread pool. The sandbox's server serialises the same way (runner.py).
_one_at_a_time = threading.RLock()
_stub = moto.core.botocore_stubber.BotocoreStubber.__call__


def _serialised(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    with _one_at_a_time:
        return _stub(self, *args, **kwargs)


moto.core.botocore_stubber.BotocoreStubber.__call__ = _serialised  # type: ignore[method-assign]

# --- the emulator's bugs that the sandbox's server also fixes (sandbox/moto_fixes.py) ---
from argos_cloud.sandbox import moto_fixes  # noqa: E402

moto_fixes.apply()


# --- Fixtures: AWS (moto in-process) ---
@pytest.fixture
def aws() -> Iterator[Clients]:
    """Clients on a fresh in-process moto; all state is dropped after the test."""
    with moto.mock_aws():
        yield make_clients(region="us-east-1", sandbox=True)


@pytest.fixture
def scope() -> Scope:
    """The project/environment most tests work in."""
    return Scope("argos", "qa")
