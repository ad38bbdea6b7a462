"""What a provider call recorded by a job that died mid-call did, read from the provider's
state — never by sending it again.

:func:`judge` is pure (the call as recorded, the deployment as it is now); :func:`reconcile`
reads the deployment (or, for a create, the list) and judges.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from bot.core.render import escape
from bot.db.jobs import Call
from bot.providers.base import BaseProvider
from bot.providers.errors import NotFoundError
from bot.providers.models import Deployment, DeploymentStatus

log = logging.getLogger(__name__)

_S = DeploymentStatus


class Verdict(enum.Enum):
    HAPPENED = "happened"
    NOT_HAPPENED = "not_happened"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Judged:
    verdict: Verdict
    #: One line for the person (mrkdwn).
    text: str
    #: The deployment as it is now (a create: the one it made), when it was read.
    found: Deployment | None = None


#: Calls whose effect is a status: the statuses that show it took effect.
STATUS_AFTER: dict[str, frozenset[str]] = {
    "start": frozenset({_S.PENDING, _S.STARTING, _S.RUNNING, _S.INSUFFICIENT_FUNDS}),
    "stop": frozenset({_S.STOPPING, _S.STOPPED}),
    "archive": frozenset({_S.ARCHIVED}),
    "close": frozenset({_S.CLOSED}),
    "accept_bids": frozenset({_S.STARTING, _S.RUNNING, _S.INSUFFICIENT_FUNDS}),
}
#: Calls that must never be sent twice: a missing effect is "may or may not", not "not sent".
NEVER_AGAIN = frozenset({"create", "deposit", "accept_bids", "revise", "rollback"})

WORDS = {
    "start": "start",
    "stop": "stop",
    "archive": "archive",
    "close": "close",
    "delete": "delete",
    "scale": "scale",
    "set_timeout": "timeout change",
    "set_schedule": "schedule change",
    "rename": "rename",
    "revise": "revision",
    "rollback": "rollback",
    "accept_bids": "lease",
    "deposit": "deposit",
    "create": "create",
}


def _field(found: Deployment, method: str) -> str | None:
    match method:
        case "scale":
            return None if found.replicas is None else str(found.replicas)
        case "set_timeout":
            value = found.extras.get("timeout")
            return None if value is None else str(value)
        case "set_schedule":
            value = found.extras.get("schedule") or found.extras.get("cron")
            return None if value is None else str(value)
        case "rename":
            return found.name
        case "rollback":
            return None if found.active_revision is None else str(found.active_revision)
    return None


def _grew(before: str, after: object) -> bool:
    try:
        return Decimal(str(after)) > Decimal(before)
    except (InvalidOperation, ValueError):
        return False


def judge(call: Call, found: Deployment | None) -> Judged:
    """Did ``call`` take effect, given the deployment as it is now (None: it doesn't exist)?"""
    what = WORDS.get(call.method, call.method)
    name = f"*{escape(found.name)}*" if found is not None else f"`{escape(call.target)}`"
    check = f"check it with `/deploy show {escape(call.target)}`"
    if found is None:
        if call.method == "delete":
            return Judged(Verdict.HAPPENED, f"The {what} of `{escape(call.target)}` went through.")
        return Judged(
            Verdict.UNKNOWN,
            f"The {what} of `{escape(call.target)}` may or may not have happened: the deployment "
            "can't be found now — check `/deploy list`.",
        )
    statuses = STATUS_AFTER.get(call.method)
    took: bool | None = None
    if call.method == "delete":
        took = False  # it is still there
    elif statuses is not None:
        took = found.status in statuses
    elif call.method == "deposit":
        before = call.before.get("escrow", "")
        took = _grew(before, found.extras.get("escrow_funds")) if before else None
    elif call.method == "revise":
        before = call.before.get("revision", "")
        took = _grew(before, found.active_revision) if before else None
    else:
        now = _field(found, call.method)
        expected = call.before.get("value", "")
        took = None if now is None or not expected else now == expected
    if took:
        return Judged(Verdict.HAPPENED, f"The {what} of {name} went through.", found)
    if took is None or call.method in NEVER_AGAIN:
        return Judged(
            Verdict.UNKNOWN, f"The {what} of {name} may or may not have happened — {check}."
        )
    return Judged(Verdict.NOT_HAPPENED, f"The {what} of {name} had not reached the provider.")


def judge_create(call: Call, listed: list[Deployment], since: datetime | None) -> Judged:
    """A create: is there a deployment of that name, created after the job was written?"""
    name = call.target
    matches = [
        d
        for d in listed
        if d.name == name and (since is None or d.created_at is None or d.created_at >= since)
    ]
    if len(matches) == 1:
        found = matches[0]
        return Judged(
            Verdict.HAPPENED,
            f"The create of *{escape(name)}* went through: it is `{escape(found.id)}`.",
            found,
        )
    return Judged(
        Verdict.UNKNOWN,
        f"The create of *{escape(name)}* may or may not have happened — check `/deploy list` "
        "before creating it again.",
    )


async def reconcile(provider: BaseProvider, call: Call, *, since: float | None = None) -> Judged:
    """Read the provider's state and judge ``call`` (a failed read: unknown). ``since``: when
    the job was written (a create is looked for among deployments made after it, with a
    minute's allowance for the provider's clock)."""
    try:
        if call.method == "create":
            listed = await provider.list_deployments()
            when = datetime.fromtimestamp(since - 60, UTC) if since else None
            return judge_create(call, listed, when)
        try:
            found: Deployment | None = await provider.get(call.target)
        except NotFoundError:
            found = None
        return judge(call, found)
    except Exception as exc:
        log.warning("reconciling a %s failed: %s", call.method, type(exc).__name__)
        what = WORDS.get(call.method, call.method)
        return Judged(
            Verdict.UNKNOWN,
            f"The {what} of `{escape(call.target)}` may or may not have happened, and the "
            f"provider can't be read right now — check `/deploy show {escape(call.target)}`.",
        )
