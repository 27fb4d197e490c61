"""AWS error codes, matched by code and never by message text."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from argos_cloud.errors import AwsError

NOT_FOUND_CODES = frozenset({
    "InvalidInstanceID.NotFound", "InvalidGroup.NotFound", "InvalidVolume.NotFound",
    "InvalidKeyPair.NotFound", "InvalidLaunchTemplateName.NotFoundException",
    "InvalidLaunchTemplateId.NotFound", "InvalidAMIID.NotFound", "InvalidSnapshot.NotFound",
    "NoSuchEntity", "ParameterNotFound", "LoadBalancerNotFound", "TargetGroupNotFound",
    "ListenerNotFound", "NoSuchBucket", "ValidationError", "InvalidAMIID.Unavailable",
})


def error_code(e: BaseException) -> str:
    """The service's error code of a botocore ClientError, or '' for anything else."""
    response: Any = getattr(e, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def is_client_error(e: BaseException) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(e, ClientError)


def is_not_found(e: BaseException) -> bool:
    code = error_code(e)
    return code in NOT_FOUND_CODES or code.endswith(".NotFound") or code.endswith("NotFound")


def as_aws_error(operation: str, e: BaseException) -> AwsError:
    """A one-line AwsError from a botocore error (ClientError or otherwise)."""
    code = error_code(e) or type(e).__name__
    response: Any = getattr(e, "response", None)
    message = str(e)
    if isinstance(response, dict):
        message = str(response.get("Error", {}).get("Message", "")) or message
    return AwsError(operation, code, message.splitlines()[0] if message else "")


def ignoring(codes: Collection[str], call: Callable[..., object], **request: Any) -> None:
    """Make one call for which these error codes mean it is already done (e.g. gone)."""
    try:
        call(**request)
    except Exception as e:
        if error_code(e) not in codes:
            raise


def unless_gone(call: Callable[..., object], **request: Any) -> None:
    """Make one call; the resource being gone already counts as done."""
    try:
        call(**request)
    except Exception as e:
        if not is_not_found(e):
            raise
