"""SSM Parameter Store: the one boto-facing piece under the lock and the journal.

Callers (engine/lock.py, engine/journal.py, workflows) get plain strings and
booleans; AWS error codes are matched here, never message text. Values are
never logged: some parameters are secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from argos_cloud.aws.errors import as_aws_error, explain, is_lost_answer, tolerate
from argos_cloud.errors import ArgosError
from argos_cloud.model.names import tag_list

log = logging.getLogger(__name__)

DELETE_BATCH = 10  # delete_parameters takes at most 10 names per call


class ParameterStore:
    """A thin adapter over an ssm client: create-if-absent, put, get, delete, list."""

    def __init__(self, ssm_client: Any) -> None:
        self._ssm = ssm_client


    def _error(self, operation: str, e: ClientError) -> ArgosError:
        """An answer that is not AWS's names the endpoint that gave it (often the first call)."""
        endpoint = getattr(getattr(self._ssm, "meta", None), "endpoint_url", None)
        return explain(e, endpoint) or as_aws_error(operation, e)
    def create(self, name: str, value: str, *, secure: bool = False,
               tags: Mapping[str, str] | None = None) -> bool:
        """Create `name` only if absent (atomic in SSM); False when it already exists.

        This is the lock primitive: of many concurrent creators exactly one gets True.
        """
        request: dict[str, Any] = {"Name": name, "Value": value, "Overwrite": False,
                                   "Type": "SecureString" if secure else "String"}
        if tags:
            request["Tags"] = tag_list(dict(tags))  # allowed only without Overwrite
        exists = tolerate("ParameterAlreadyExists")
        try:
            with exists:
                self._ssm.put_parameter(**request)
        except ClientError as e:
            raise self._error("ssm.PutParameter", e) from e
        except Exception as e:
            if not is_lost_answer(e):
                raise
            return self.get(name, decrypt=secure) == value  # made, or not: read it back
        if exists:
            log.debug("ssm parameter %s already exists", name)
            # our own write whose first answer was lost (the retry found it)?
            return self.get(name, decrypt=secure) == value
        log.debug("ssm parameter %s created", name)
        return True

    def put(self, name: str, value: str, *, secure: bool = False,
            tags: Mapping[str, str] | None = None) -> None:
        """Create or overwrite `name`; tags go on separately (SSM refuses Tags with Overwrite)."""
        try:
            self._put(name, value, secure)
            if tags:
                self._ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name,
                                               Tags=tag_list(dict(tags)))
        except ClientError as e:
            raise self._error("ssm.PutParameter", e) from e
        log.debug("ssm parameter %s written", name)

    def _put(self, name: str, value: str, secure: bool) -> None:
        """Overwrite; a lost answer is checked by reading back, and sent again if absent."""
        for attempt in range(3):
            try:
                self._ssm.put_parameter(Name=name, Value=value, Overwrite=True,
                                        Type="SecureString" if secure else "String")
                return
            except Exception as e:
                if not is_lost_answer(e) or attempt == 2:
                    raise
                if self.get(name, decrypt=secure) == value:
                    return

    def get(self, name: str, *, decrypt: bool = False) -> str | None:
        """The value of `name`, or None when it does not exist."""
        absent = tolerate("ParameterNotFound")
        try:
            with absent:
                reply = self._ssm.get_parameter(Name=name, WithDecryption=decrypt)
        except ClientError as e:
            raise self._error("ssm.GetParameter", e) from e
        if absent:
            return None
        return str(reply["Parameter"]["Value"])

    def delete(self, name: str) -> bool:
        """Delete `name`; False when it was already gone (gone = done)."""
        absent = tolerate("ParameterNotFound")
        try:
            with absent:
                self._ssm.delete_parameter(Name=name)
        except ClientError as e:
            raise self._error("ssm.DeleteParameter", e) from e
        except Exception as e:
            if not is_lost_answer(e) or self.get(name) is not None:
                raise
            return True  # it went; only the answer was lost
        if absent:
            return False
        log.debug("ssm parameter %s deleted", name)
        return True

    def list_path(self, path: str, *, decrypt: bool = False) -> dict[str, str]:
        """Every parameter under `path` (recursive), name → value, in one paginated read."""
        found: dict[str, str] = {}
        paginator = self._ssm.get_paginator("get_parameters_by_path")
        try:
            for page in paginator.paginate(Path=path.rstrip("/") or "/", Recursive=True,
                                           WithDecryption=decrypt):
                for parameter in page.get("Parameters", []):
                    found[str(parameter["Name"])] = str(parameter["Value"])
        except ClientError as e:
            raise self._error("ssm.GetParametersByPath", e) from e
        return found

    def delete_many(self, names: Iterable[str]) -> list[str]:
        """Delete the given parameters in batches; returns the names actually deleted."""
        pending = list(names)
        deleted: list[str] = []
        for start in range(0, len(pending), DELETE_BATCH):
            batch = pending[start:start + DELETE_BATCH]
            try:
                reply = self._ssm.delete_parameters(Names=batch)
            except ClientError as e:
                raise self._error("ssm.DeleteParameters", e) from e
            except Exception as e:  # a lost answer: delete_parameters is safe to repeat
                if not is_lost_answer(e):
                    raise
                reply = self._ssm.delete_parameters(Names=batch)
            deleted.extend(str(n) for n in reply.get("DeletedParameters", []))
        log.debug("ssm deleted %d parameter(s)", len(deleted))
        return deleted

    def delete_path(self, path: str) -> list[str]:
        """Delete everything under `path`; returns the deleted names (decommission, tests)."""
        return self.delete_many(sorted(self.list_path(path)))
