"""What the listeners share: who is asking, and delivering replies (and failures)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.core import replies
from bot.core.operations import Chain, Operation
from bot.core.replies import Reply
from bot.db.engine import is_database_outage
from bot.providers.errors import ProviderError
from bot.providers.models import PROVIDER_NAMES, ProviderName
from bot.services.deployments import Actor, error_reply, pick_reply
from bot.services.errors import AmbiguousError, ServiceError
from bot.slack_middleware import RequestStep

log = logging.getLogger("deploybot.handlers")

UNKNOWN_PROVIDER = (
    "That button names a provider deploybot doesn't know: it works with nosana, akash and "
    "neuranet. Run the command again for fresh buttons."
)
#: A database outage of a few seconds (a failover, a restart): what the person is told.
DATABASE_DOWN = "deploybot can't reach its database right now; try again in a moment."


def unknown_provider(name: object) -> str | None:
    """The refusal for a button value naming an unknown provider (None when it is known)."""
    return None if known_provider(name) else UNKNOWN_PROVIDER


def known_provider(name: object) -> ProviderName | None:
    """``name`` as a provider deploybot knows, or None."""
    return next((p for p in PROVIDER_NAMES if p == name), None)


def actor_of(context: AsyncBoltContext, body: dict[str, Any]) -> Actor:
    team_id = (
        context.team_id
        or body.get("team_id")
        or (body.get("team") or {}).get("id")
        or (body.get("user") or {}).get("team_id")
        or ""
    )
    channel = context.channel_id or body.get("channel_id") or (body.get("channel") or {}).get("id")
    return Actor(
        team_id=team_id,
        user_id=context.user_id or body.get("user_id") or (body.get("user") or {}).get("id", ""),
        enterprise_id=context.enterprise_id or None,
        channel_id=channel,
    )


ACTOR = "actor"


class AttachActor(RequestStep):
    """Bolt middleware: who is asking, in which workspace and channel, for every listener
    (``context["actor"]``). A class, not a function: Bolt calls it without building keyword
    arguments by introspection on every request (it sits on the ack's path)."""

    def step(self, req: AsyncBoltRequest) -> None:
        body = req.body if isinstance(req.body, dict) else {}
        req.context[ACTOR] = actor_of(req.context, body)


def asker(context: AsyncBoltContext) -> Actor:
    """The actor the middleware attached to this request."""
    actor = context.get(ACTOR)
    if not isinstance(actor, Actor):  # a listener run without the middleware (never in the app)
        raise RuntimeError("the actor middleware did not run")
    return actor


def failure_reply(exc: BaseException, op: Operation | Chain | None = None) -> Reply:
    if isinstance(exc, AmbiguousError) and op is not None:
        return pick_reply(exc, op)
    if is_database_outage(exc):
        log.warning("the database is unreachable: %s", type(exc).__name__)
        return replies.error(DATABASE_DOWN)
    if not isinstance(exc, ProviderError | ServiceError):
        log.error("unexpected failure: %s", type(exc).__name__, exc_info=exc)
    return error_reply(exc)


async def guarded(
    respond: AsyncRespond,
    work: Callable[[], Awaitable[None]],
    op: Operation | Chain | None = None,
    *,
    replace: bool = True,
) -> None:
    """Run ``work``; any failure becomes a private one-liner (never a stack trace)."""
    try:
        await work()
    except Exception as exc:
        reply = failure_reply(exc, op)
        await respond(**reply.payload(), replace_original=replace)


Listener = Callable[..., Awaitable[None]]


def answers_outage(
    answer: Callable[[dict[str, Any]], dict[str, Any]],
) -> Callable[[Listener], Listener]:
    """For a view-submission listener that reads the database before it answers the form: a
    database outage answers it with ``answer(view)`` (one line for the person, e.g. a form
    error) instead of a 500. Bolt still sees the listener's own parameters."""

    def decorate(listener: Listener) -> Listener:
        @functools.wraps(listener)
        async def answering(**kwargs: Any) -> None:
            try:
                await listener(**kwargs)
            except Exception as exc:
                if not is_database_outage(exc):
                    raise
                log.warning("the database is unreachable: %s", type(exc).__name__)
                await kwargs["ack"](**answer(kwargs["view"]))

        return answering

    return decorate


def input_value(view: dict[str, Any], block: str, action: str) -> str:
    """A text input's value from a submitted view ('' when missing or oddly shaped)."""
    state = (view.get("state") or {}).get("values")
    block_state = state.get(block) if isinstance(state, dict) else None
    element = block_state.get(action) if isinstance(block_state, dict) else None
    value = element.get("value") if isinstance(element, dict) else None
    return str(value or "")
