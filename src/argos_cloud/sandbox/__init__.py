"""The sandbox provider: a moto server on 127.0.0.1 (`server`, `runner`) and test hooks (`faults`).

Importing this package loads neither moto nor boto3.
"""

from argos_cloud.sandbox.server import Sandbox, SandboxInfo

__all__ = ["Sandbox", "SandboxInfo"]
