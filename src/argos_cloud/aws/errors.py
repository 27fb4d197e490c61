"""AWS error codes, matched by code and never by message text."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from types import TracebackType
from typing import Any

from argos_cloud.errors import ArgosError, AwsError, OperationFailed

# Not ValidationError: outside the few Auto Scaling calls that say "not found" with it
# (those tolerate it by name), it means a malformed request, which must surface.
NOT_FOUND_CODES = frozenset({
    "InvalidInstanceID.NotFound", "InvalidGroup.NotFound", "InvalidVolume.NotFound",
    "InvalidKeyPair.NotFound", "InvalidLaunchTemplateName.NotFoundException",
    "InvalidLaunchTemplateId.NotFound", "InvalidAMIID.NotFound", "InvalidSnapshot.NotFound",
    "NoSuchEntity", "ParameterNotFound", "LoadBalancerNotFound", "TargetGroupNotFound",
    "ListenerNotFound", "NoSuchBucket", "InvalidAMIID.Unavailable",
})


READ_PREFIXES = ("Describe", "Get", "List")


class AnswerLost(RuntimeError):
    """AWS carried out a call, but its answer never reached us (raised by test hooks)."""


def is_lost_answer(e: BaseException) -> bool:
    """True when the request may have been carried out but no answer came back.

    A closed connection or a read timeout after sending; never a connect error
    (nothing was sent) and never an AWS error answer (that is an answer).
    """
    from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

    return isinstance(e, AnswerLost | ConnectionClosedError | ReadTimeoutError)


def is_mutating(operation: str) -> bool:
    return not operation.startswith(READ_PREFIXES)


def no_blind_retry(caught_exception: BaseException | None = None, operation: Any = None,
                   **_: Any) -> None:
    """`needs-retry` hook: a write whose answer was lost is not re-sent blindly.

    botocore would resend it (a second snapshot, a second instance: moto and some
    AWS APIs have no client token). Raising here hands the lost answer to the
    caller, which looks up what AWS did before acting again.
    """
    name = str(getattr(operation, "name", ""))
    if caught_exception is not None and is_mutating(name) and is_lost_answer(
            caught_exception):
        raise caught_exception


def error_code(e: BaseException) -> str:
    """The service's error code of a botocore ClientError, or '' for anything else."""
    response: Any = getattr(e, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def error_message(e: BaseException) -> str:
    """The first line of the service's message (else the error's text, else its type)."""
    response: Any = getattr(e, "response", None)
    text = ""
    if isinstance(response, dict):
        text = str(response.get("Error", {}).get("Message", ""))
    text = (text or str(e)).strip()
    return text.splitlines()[0] if text else type(e).__name__


def is_client_error(e: BaseException) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(e, ClientError)


def _not_found_code(code: str) -> bool:
    return code in NOT_FOUND_CODES or code.endswith("NotFound")


class Tolerated:
    """A `with` block in which some AWS error answers count as done (see `tolerate`).

    After the block, `caught` is the code it swallowed (None when the block ran
    through) and `error` the swallowed error itself, for a caller that looks
    closer and may raise it after all; the object is true when something was caught.
    """

    def __init__(self, matches: Callable[[str], bool]) -> None:
        self._matches = matches
        self.caught: str | None = None
        self.error: BaseException | None = None

    def __enter__(self) -> Tolerated:
        self.caught, self.error = None, None
        return self

    def __exit__(self, kind: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if e is None or not is_client_error(e) or not self._matches(error_code(e)):
            return False
        self.caught, self.error = error_code(e), e
        return True

    def __bool__(self) -> bool:
        return self.caught is not None


def tolerate(*codes: str) -> Tolerated:
    """Swallow a botocore ClientError whose code is one of `codes`; re-raise anything else.

    The one way an AWS answer such as "already gone" or "already exists" is taken
    as done, matched by exact code:

        absent = tolerate("ParameterNotFound")
        with absent:
            raw = ssm.get_parameter(Name=name)
        if absent:
            return None
    """
    return Tolerated(frozenset(codes).__contains__)


CREDENTIAL_ERRORS = ("NoCredentialsError", "PartialCredentialsError", "SSOTokenLoadError",
                     "UnauthorizedSSOTokenError", "TokenRetrievalError",
                     "CredentialRetrievalError", "NoAuthTokenError", "SSOError")
CONNECT_ERRORS = ("EndpointConnectionError", "ConnectTimeoutError", "ProxyConnectionError",
                  "SSLError")


class NoCredentials(OperationFailed):
    """No AWS credentials anywhere in the chain: the message names the ways to give them."""


class NotAws(OperationFailed):
    """The endpoint cannot be reached, or something that is not AWS answered."""


def not_aws_answer(e: BaseException) -> str | None:
    """What answered, when the answer is not an AWS one (an HTML page, no error code)."""
    if type(e).__name__ == "ResponseParserError":
        return "a reply that is not an AWS document"
    response: Any = getattr(e, "response", None)
    if not isinstance(response, dict):
        return None
    error = response.get("Error") or {}
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
    html = message.lstrip().startswith("<")
    if not (code in ("", "Unknown") or (code.isdigit() and (html or not message))):
        return None
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    html = html or "html" in str(headers.get("content-type", "")).lower()
    found = re.search(r"<title>\s*(.*?)\s*</title>", message, re.I | re.S)
    head = response.get("head")  # an XML parser's reading of an HTML page
    title = found.group(1) if found else (
        str(head.get("title") or "") if isinstance(head, dict) else "")
    if title:
        what = f"an HTML page titled {' '.join(title.split())[:80]!r}"
    else:
        what = "an HTML page" if html else "an answer without an AWS error code"
    return f"HTTP {status}, {what}"


def explain(e: BaseException, endpoint: str | None, region: str | None = None) -> ArgosError | None:
    """A one-line error a user can act on, for failures that are not AWS's answer."""
    name = type(e).__name__
    where = endpoint or (f"the AWS endpoint of {region}" if region else "the AWS endpoint")
    if name in CREDENTIAL_ERRORS:
        return NoCredentials(
            f"no usable AWS credentials ({e}): pass --profile NAME (or set 'profile' in the "
            "config), run 'aws sso login --profile NAME', or set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment")
    if name in CONNECT_ERRORS:
        kwargs: Any = getattr(e, "kwargs", {}) or {}
        url = str(kwargs.get("endpoint_url") or where)
        reason = kwargs.get("error")
        why = str(reason).rpartition(": ")[2] if reason else str(e)
        return NotAws(f"cannot reach {url}: {why}")
    what = not_aws_answer(e)
    if what:
        return NotAws(f"{where} did not answer as AWS: {what}")
    return None


def as_aws_error(operation: str, e: BaseException) -> AwsError:
    """A one-line AwsError from a botocore error (ClientError or otherwise)."""
    what = not_aws_answer(e)
    if what:
        return AwsError(operation, "NotAws", f"the endpoint did not answer as AWS: {what}")
    code = error_code(e) or type(e).__name__
    response: Any = getattr(e, "response", None)
    message = str(e)
    if isinstance(response, dict):
        message = str(response.get("Error", {}).get("Message", "")) or message
    return AwsError(operation, code, message.splitlines()[0] if message else "")


def ignoring(codes: Collection[str], call: Callable[..., object], **request: Any) -> None:
    """Make one call for which these error codes mean it is already done (e.g. gone)."""
    with tolerate(*codes):
        call(**request)


def unless_gone(call: Callable[..., object], **request: Any) -> None:
    """Make one call; the resource being gone (any not-found code) counts as done."""
    with Tolerated(_not_found_code):
        call(**request)


class _Body:
    """The raw stream botocore reads an answer from."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def error_body(service: str, json_protocol: bool, code: str) -> bytes:
    """An error document in the service's protocol, so botocore parses the code."""
    message = "injected by argos-cloud faults"
    if json_protocol:  # SSM, DynamoDB (json), rest-json services
        return (f'{{"__type": "{code}", "code": "{code}", "message": "{message}"}}').encode()
    if service == "ec2":
        return (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
                "</Error></Errors><RequestID>0</RequestID></Response>").encode()
    return (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"  # query, rest-xml
            f"<Message>{message}</Message></Error><RequestId>0</RequestId></ErrorResponse>"
            ).encode()


def error_response(url: str, service: str, json_protocol: bool, status: int,
                   code: str) -> Any:
    """A botocore response carrying an AWS error, for a `before-send` hook to return."""
    from botocore.awsrequest import AWSResponse

    headers = {"x-amzn-errortype": code} if json_protocol else {}
    return AWSResponse(url, status, headers, _Body(error_body(service, json_protocol, code)))
