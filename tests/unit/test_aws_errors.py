"""`tolerate`: the one way an AWS error answer is taken as done."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from argos_cloud.aws.errors import AnswerLost, tolerate, unless_gone


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "said by a test"}}, "DeleteThing")


def raising(e: BaseException) -> None:
    raise e


def test_a_tolerated_code_is_swallowed_and_reported() -> None:
    gone = tolerate("NoSuchEntity", "ParameterNotFound")
    with gone:
        raising(client_error("ParameterNotFound"))
    assert gone and gone.caught == "ParameterNotFound"
    assert isinstance(gone.error, ClientError)


def test_a_block_that_runs_through_reports_nothing_caught() -> None:
    with tolerate("NoSuchEntity") as gone:
        pass
    assert not gone and gone.caught is None and gone.error is None


def test_any_other_code_is_raised() -> None:
    gone = tolerate("NoSuchEntity")
    with pytest.raises(ClientError) as raised, gone:
        raising(client_error("AccessDenied"))
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    assert not gone


def test_an_error_that_is_not_an_aws_answer_is_raised() -> None:
    """Even one that carries a matching code: only botocore's ClientError is an answer."""
    class Lookalike(Exception):
        response = {"Error": {"Code": "NoSuchEntity"}}

    with pytest.raises(Lookalike), tolerate("NoSuchEntity"):
        raising(Lookalike())
    with pytest.raises(AnswerLost), tolerate("NoSuchEntity"):
        raising(AnswerLost("made, answer lost"))
    with pytest.raises(KeyError), tolerate("NoSuchEntity"):
        raising(KeyError("x"))


def test_reused_it_forgets_what_it_caught_before() -> None:
    gone = tolerate("NoSuchEntity")
    with gone:
        raising(client_error("NoSuchEntity"))
    with gone:
        pass
    assert gone.caught is None


def test_tolerating_nothing_raises_everything() -> None:
    with pytest.raises(ClientError), tolerate():
        raising(client_error("NoSuchEntity"))


def test_validation_error_is_not_counted_as_gone() -> None:
    """A malformed request must surface; only Auto Scaling call sites name it."""
    unless_gone(raising, e=client_error("InvalidVolume.NotFound"))
    with pytest.raises(ClientError):
        unless_gone(raising, e=client_error("ValidationError"))
