"""The sandbox provider: a moto server on 127.0.0.1 (`server`, `runner`) and test hooks (`faults`);
`hosts/` makes every instance a booted Debian machine on this computer (`--hosts`).

Importing this package loads neither moto nor boto3.
"""

from argos_cloud.sandbox.server import Sandbox, SandboxInfo

__all__ = ["Sandbox", "SandboxInfo"]
