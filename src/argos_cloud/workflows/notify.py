"""Notifications: when commission, deploy, rollback, decommission, clean or an image roll
ends, say so.

A JSON body that Slack's incoming webhooks (and most others) accept — `text` for
people, the same facts as fields for machines — posted to `[notify] webhook`,
and/or published to `[notify] sns_topic_arn`. Made from the journal entry, which
holds names, commits and steps only; its free-text detail is left out, so no
secret can ride along. A failure to notify is a warning, never a failed operation.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from argos_cloud.engine.journal import JournalEntry

if TYPE_CHECKING:
    from argos_cloud.aws.session import Clients
    from argos_cloud.config import EnvironmentSpec
    from argos_cloud.model.names import Scope

log = logging.getLogger(__name__)

NOTIFIED = frozenset({"commission", "deploy", "rollback", "decommission", "clean", "roll"})
WEBHOOK_TIMEOUT = 5.0
ICON = {"succeeded": ":white_check_mark:", "failed": ":x:", "interrupted": ":warning:",
        "refused": ":no_entry:"}


class Session(Protocol):
    """What a notification needs of workflows/session.Session (which calls `notify`)."""

    @property
    def spec(self) -> EnvironmentSpec: ...
    @property
    def clients(self) -> Clients: ...
    @property
    def scope(self) -> Scope: ...


def duration_seconds(entry: JournalEntry) -> int | None:
    if not entry.finished:
        return None
    try:
        start = datetime.fromisoformat(entry.at.replace("Z", "+00:00"))
        end = datetime.fromisoformat(entry.finished.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0, int((end - start).total_seconds()))


def message(project: str, environment: str, entry: JournalEntry,
            url: str | None) -> dict[str, Any]:
    """Pure: the body sent. Only names, commits, steps and times; never `detail`."""
    seconds = duration_seconds(entry)
    commit = (entry.commit or "")[:12]
    text = (f"{ICON.get(entry.result, '')} argos-cloud {entry.command} of "
            f"{project}/{environment} {entry.result}"
            + (f" at step {entry.failed_step}" if entry.failed_step else "")
            + f" ({entry.who}" + (f", commit {commit}" if commit else "")
            + (f", {seconds} s" if seconds is not None else "") + ")"
            + (f" — {url}" if url else "")).strip()
    return {"text": text, "project": project, "environment": environment,
            "command": entry.command, "who": entry.who, "result": entry.result,
            "commit": entry.commit, "duration_seconds": seconds,
            "failed_step": entry.failed_step, "url": url, "started": entry.at,
            "finished": entry.finished}


def post_webhook(url: str, body: dict[str, Any], timeout: float = WEBHOOK_TIMEOUT) -> int:
    """POST the JSON body; returns the HTTP status (an error status raises)."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "argos-cloud"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=timeout) as reply:
        return int(reply.status)


def app_url(session: Session) -> str | None:
    """The load balancer's address, when there is one (best effort)."""
    from argos_cloud.kinds import load_balancer

    found = load_balancer.read(session.clients, session.scope)
    dns = found[0].attrs.get("dns_name") if found else None
    return f"http://{dns}/" if dns else None


def notify(session: Session, entry: JournalEntry,
           warn: Callable[[str], None] | None = None) -> list[str]:
    """Send where configured; returns the warnings (each also passed to `warn`)."""
    config = session.spec.notify
    if entry.command not in NOTIFIED or not (config.webhook or config.sns_topic_arn):
        return []
    warnings: list[str] = []

    def warning(text: str) -> None:
        log.warning(text)
        warnings.append(text)
        if warn is not None:
            warn(text)

    try:
        url = app_url(session) if entry.command != "decommission" else None
    except Exception as e:  # the URL is a nicety; the notification still goes
        log.debug("no URL for the notification: %s", e)
        url = None
    body = message(session.spec.project, session.spec.name, entry, url)
    if config.webhook:
        try:
            post_webhook(config.webhook, body)
        except Exception as e:
            warning(f"warning: the webhook notification failed ({type(e).__name__}: {e}); "
                    f"the {entry.command} itself {entry.result}")
    if config.sns_topic_arn:
        from argos_cloud.aws.sns import publish

        try:
            publish(session.clients, config.sns_topic_arn, body["text"], json.dumps(body))
        except Exception as e:
            warning(f"warning: the SNS notification failed ({type(e).__name__}: {e}); "
                    f"the {entry.command} itself {entry.result}")
    return warnings
