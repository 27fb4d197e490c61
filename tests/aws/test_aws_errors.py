"""A ValidationError means "not found" only at the Auto Scaling calls that say so."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from argos_cloud.aws.errors import error_code
from argos_cloud.aws.session import Clients
from argos_cloud.kinds import listener
from argos_cloud.model.names import Scope
from argos_cloud.plan.types import Actual
from argos_cloud.sandbox.faults import Faults
from tests.aws.test_kinds_shared import make_ctx, make_facts, make_spec

pytestmark = pytest.mark.aws

ARN = ("arn:aws:elasticloadbalancing:us-east-1:123456789012:"
       "listener/app/argos-qa-app/50dc6c495c0c9188/f2f7dc8efc522ab2")


def test_a_validation_error_from_elbv2_is_an_error_not_already_gone(
        aws: Clients, scope: Scope, tmp_path: Path) -> None:
    faults = Faults().add("DeleteListener", status=400, code="ValidationError").attach(aws)
    ctx = make_ctx(aws, scope, make_spec(tmp_path), make_facts(aws))
    have = Actual("listener", "app", ARN, "app")
    with pytest.raises(ClientError) as raised:
        listener.delete(ctx, have)
    assert error_code(raised.value) == "ValidationError"
    assert faults.injected["DeleteListener"] == 1
    listener.delete(ctx, have)  # ListenerNotFound (moto's answer): gone counts as done
