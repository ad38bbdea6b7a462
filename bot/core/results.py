"""What an operation did, as data: the pipeline audits it and renders it (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core import replies
from bot.core.operations import Operation
from bot.core.replies import Reply
from bot.providers.models import Capability, Deployment


@dataclass(frozen=True)
class Changed:
    """A change deploybot made to a deployment: the deployment before and after it."""

    op: Operation
    user_id: str
    before: Deployment
    #: None when the deployment is gone (deleted, closed and no longer listed).
    after: Deployment | None
    #: What the deployment can do now (the card's buttons).
    allowed: frozenset[Capability]
    at: datetime

    @property
    def provider_ref(self) -> str:
        """The provider's own reference for the change (a transaction, a job, a revision),
        for the audit log."""
        after = self.after
        if after is None:
            return self.before.id
        for key in ("tx", "request_id", "job", "revision"):
            value = after.extras.get(key)
            if value:
                return f"{key}:{value}"
        if after.active_revision is not None:
            return f"{after.id}@r{after.active_revision}"
        return after.id


def render_changed(changed: Changed) -> Reply:
    """Who did what, then the deployment's fresh card."""
    return replies.result_reply(
        changed.op,
        changed.user_id,
        changed.after,
        before=changed.before,
        allowed=changed.allowed,
        now=changed.at,
    )
