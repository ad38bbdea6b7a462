"""Failures as replies: the one-line private answer, and the "which one?" picker."""

from __future__ import annotations

from bot.core import replies
from bot.core.operations import Chain, Operation
from bot.core.render import PROVIDER_LABEL, escape
from bot.core.replies import Reply
from bot.providers.errors import AuthenticationError, ProviderError
from bot.services.deployments.wording import sentence
from bot.services.errors import AmbiguousError, ServiceError


def error_reply(exc: BaseException) -> Reply:
    """The one-line, private answer for a failure (never a stack trace)."""
    if isinstance(exc, ProviderError):
        label = PROVIDER_LABEL.get(exc.provider, exc.provider or "The provider")
        message = exc.message
        if exc.advice and exc.advice not in message:
            message = f"{sentence(message)} {exc.advice}"
        if isinstance(exc, AuthenticationError):
            message = (
                f"{label} rejected the stored API key (wrong, revoked or expired): an admin can "
                f"run `/deploy connect {exc.provider}` with a new one."
            )
        return replies.error(escape(message))
    if isinstance(exc, ServiceError):
        return replies.error(exc.message if exc.mrkdwn else escape(exc.message))
    return replies.error("Something went wrong on our side; it has been logged. Try again.")


def pick_reply(exc: AmbiguousError, op: Operation | Chain) -> Reply:
    values = [replies.encode_pick(op.retarget(d.provider, d.id)) for d in exc.candidates[:5]] + [
        None
    ] * max(0, len(exc.candidates) - 5)
    return replies.pick_reply(exc.ref, exc.candidates, values)
