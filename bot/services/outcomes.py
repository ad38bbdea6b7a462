"""The typed outcome of an operation passing the pipeline: Done, Pending or Refused."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import replies
from bot.core.render import escape
from bot.core.replies import Reply
from bot.core.results import Result
from bot.services.approvals import Filed


@dataclass(frozen=True)
class Done:
    """It ran (or was a read): here is the answer, and for a change what it changed."""

    reply: Reply
    result: Result | None = None


@dataclass(frozen=True)
class Pending:
    """It waits for approval; ``reply`` tells the requester where."""

    reply: Reply
    request_id: str
    #: The same request was already open (nothing new was filed).
    duplicate: bool = False


@dataclass(frozen=True)
class Refused:
    """Refused before anything happened: by preflight (it cannot succeed) or by the policy.
    Nobody was asked to approve it."""

    reply: Reply
    reason: str


Outcome = Done | Pending | Refused


def refused(reason: str) -> Refused:
    return Refused(reply=replies.error(escape(reason)), reason=reason)


def pending(filed: Filed) -> Pending:
    return Pending(reply=filed.reply, request_id=filed.request_id, duplicate=filed.duplicate)
