"""The master's bundle: the Salt state tree with a pillar naming hosts and the commit.

Both `commission` and `deploy` publish it, so it lives apart from either
(commission calls deploy for its first deploy, never the other way).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argos_cloud.model.facts import Facts
    from argos_cloud.workflows.session import Session


def state_tree(session: Session) -> Path:
    """The user's tree when the config names one, else the packaged default."""
    if session.spec.salt.state_tree is not None:
        return session.spec.salt.state_tree
    from importlib import resources

    return Path(str(resources.files("argos_cloud.salt")))


def _templates(session: Session) -> dict[str, Path]:
    return {"config.py": session.spec.source.config_template,
            "celery_config.py": session.spec.source.celery_config_template}


def build_bundle(session: Session, tree: Path, facts: Facts, commit: str,
                 addresses: dict[str, str]) -> tuple[bytes, str]:
    """The master's bundle: tree + non-secret pillar naming hosts and the commit."""
    from argos_cloud.provision.pillar import build_pillar
    from argos_cloud.provision.validate import bundle, bundle_digest

    pillar = build_pillar(session.spec, commit=commit,
                          master_address=addresses.get("master"),
                          database_host=addresses.get("database", ""),
                          broker_host=addresses.get("broker", ""), vpc_cidr=facts.vpc_cidr,
                          repository=session.clone_url())
    body = bundle(tree, pillar, _templates(session))
    return body, bundle_digest(body)
