"""SNS publish, for notifications (boto3 stays in aws/)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients


def publish(clients: Clients, topic_arn: str, subject: str, message: str) -> str:
    """Publish one message; returns its id. SNS subjects are at most 100 characters."""
    reply = clients.client("sns").publish(TopicArn=topic_arn, Subject=subject[:100],
                                          Message=message)
    return str(reply["MessageId"])
