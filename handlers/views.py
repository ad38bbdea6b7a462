"""Modal submissions: a provider key (checked, then stored encrypted), a revision, a deposit."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import modals
from bot.core.arguments import args_for
from bot.core.operations import Operation, OpKind
from bot.core.render import PROVIDER_LABEL
from bot.db.jobs import ClaimedJob
from bot.providers.errors import AuthenticationError, ProviderError
from bot.providers.models import PROVIDER_NAMES, ProviderName
from bot.services.deployments import Actor
from bot.services.errors import ServiceError
from handlers.common import DATABASE_DOWN, answers_outage, asker, failure_reply, known_provider
from handlers.delivery import post_result, tell_person
from handlers.jobs import NotTaken, decode_operation, defer, encode_operation, job_slack

if TYPE_CHECKING:
    from bot.app import DeployBot

log = logging.getLogger("deploybot.handlers")
CONNECT_OUTAGE = {modals.KEY_BLOCK: DATABASE_DOWN}

#: How long checking a key may take: Slack wants the modal's answer within 3 s.
VERIFY_BUDGET = 2.0
#: The admin check and the key check together: the answer must reach Slack within 3 s.
ANSWER_BUDGET = 2.5


def _value(view: dict[str, Any], block: str, action: str) -> str:
    state = (view.get("state") or {}).get("values") or {}
    return str(((state.get(block) or {}).get(action) or {}).get("value") or "")


def _meta(view: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _key_shape_problem(key: SecretStr) -> str | None:
    value = key.get_secret_value()
    if len(value) < 8 or any(c.isspace() for c in value):
        return "That doesn't look like an API key (no spaces, 8+ chars)."
    return None


async def _key_problem(
    bot: DeployBot, client: AsyncWebClient, actor: Actor, provider: ProviderName, key: SecretStr
) -> str | None:
    """May this person connect, and does the provider take the key? Bounded: the form must
    be answered within Slack's 3 s."""
    label = PROVIDER_LABEL[provider]
    try:
        async with asyncio.timeout(ANSWER_BUDGET):
            slack = bot.slack.io(client, actor.team_id)
            await bot.gate.authorize(actor, "connect", slack, what="connect a provider")
            await asyncio.wait_for(bot.service.verify_key(provider, key), VERIFY_BUDGET)
    except ServiceError as exc:
        return exc.message[:150]
    except AuthenticationError:
        return f"{label} rejected this key. Check it and paste again."
    except (TimeoutError, ProviderError) as exc:
        reason = exc.message if isinstance(exc, ProviderError) else "it took too long"
        return f"Couldn't check the key with {label} ({reason[:80]}). Try again in a moment."
    return None


def register(bot: DeployBot) -> None:
    app = bot.app
    register_jobs(bot)

    @app.view(modals.CONNECT)
    @answers_outage(lambda view: {"response_action": "errors", "errors": CONNECT_OUTAGE})
    async def connect(
        ack: AsyncAck,
        view: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        meta = _meta(view)
        provider = known_provider(meta.get("p"))
        key = SecretStr(_value(view, modals.KEY_BLOCK, modals.KEY_ACTION).strip())
        if provider is None:
            await ack(response_action="errors", errors={modals.KEY_BLOCK: "Unknown provider."})
            return
        actor = replace(asker(context), channel_id=meta.get("c"))
        label = PROVIDER_LABEL[provider]
        problem = _key_shape_problem(key) or await _key_problem(bot, client, actor, provider, key)
        if problem is not None:
            await ack(response_action="errors", errors={modals.KEY_BLOCK: problem})
            return
        info = await bot.service.connect(actor, provider, key)
        log.info(
            "provider connected",
            extra={"team": actor.team_id, "user": actor.user_id, "provider": provider},
        )
        try:
            await defer(
                bot,
                "connected",
                key=f"connected:{view.get('id') or secrets.token_hex(8)}",
                actor=actor,
                data={"provider": provider, "hint": info.key_hint, "label": label},
            )
        except NotTaken:  # the key is stored; only the audit entry and the note are late
            log.warning("could not write the audit job of a connect")
        await ack(response_action="update", view=modals.connected_view(provider, info.key_hint))

    @app.view(modals.REVISE)
    async def revise(
        ack: AsyncAck,
        view: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        meta = _meta(view)
        text = _value(view, modals.DEFINITION_BLOCK, modals.DEFINITION_ACTION)
        provider, deployment_id = meta.get("p"), meta.get("d")
        if provider not in PROVIDER_NAMES or not deployment_id:
            await ack(response_action="errors", errors={modals.DEFINITION_BLOCK: "Form expired."})
            return
        actor = replace(asker(context), channel_id=meta.get("c"))
        try:
            problem = await bot.service.check_revision(actor, provider, text)
        except ServiceError as exc:
            problem = exc.message
        if problem:
            await ack(response_action="errors", errors={modals.DEFINITION_BLOCK: problem[:1900]})
            return
        op = Operation(
            args=args_for(OpKind.REVISE, definition=text),
            provider=provider,
            target=str(deployment_id),
        )
        await _submit(bot, ack, view, actor, op, block=modals.DEFINITION_BLOCK)

    @app.view(modals.DEPOSIT)
    async def deposit(
        ack: AsyncAck,
        view: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        meta = _meta(view)
        raw = _value(view, modals.AMOUNT_BLOCK, modals.AMOUNT_ACTION).strip().lstrip("$")
        try:
            amount = Decimal(raw.replace(",", ""))
        except InvalidOperation:
            amount = Decimal(-1)
        if not amount.is_finite() or amount <= 0 or amount > 100_000:
            await ack(
                response_action="errors",
                errors={modals.AMOUNT_BLOCK: "Enter US dollars, more than 0 (e.g. 5 or 12.50)."},
            )
            return
        if meta.get("p") not in PROVIDER_NAMES or not meta.get("d"):
            await ack(response_action="errors", errors={modals.AMOUNT_BLOCK: "Form expired."})
            return
        actor = replace(asker(context), channel_id=meta.get("c"))
        op = Operation(
            args=args_for(OpKind.DEPOSIT, amount_usd=amount),
            provider=meta["p"],
            target=str(meta["d"]),
        )
        await _submit(bot, ack, view, actor, op, block=modals.AMOUNT_BLOCK)


def register_jobs(bot: DeployBot) -> None:
    """The work forms leave for after they closed."""

    @bot.job("connected")
    async def connected_job(job: ClaimedJob) -> None:
        """After a key was stored: the audit entry, and a note in the channel it came from."""
        found = await job_slack(bot, job)
        if found is None:
            return
        actor, data = found.actor, found.data
        await bot.gate.record_connect(actor, str(data.get("provider")), str(data.get("hint")))
        if actor.channel_id:
            text = f":white_check_mark: {data.get('label')} connected (key `{data.get('hint')}`)."
            await tell_person(found.client, actor, text)

    @bot.job("form_operation")
    async def form_operation_job(job: ClaimedJob) -> None:
        """An operation submitted in a form (revise, deposit): no response URL, so the result
        goes to the channel and failures to the person."""
        found = await job_slack(bot, job)
        op = decode_operation(found.data.get("op")) if found is not None else None
        if found is None or not isinstance(op, Operation):
            return
        await _run_and_post(bot, found.client, found.actor, op)


async def _submit(
    bot: DeployBot,
    ack: AsyncAck,
    view: dict[str, Any],
    actor: Actor,
    op: Operation,
    *,
    block: str,
) -> None:
    """Write a submitted form's operation as a job, then close the form (a second submit of
    the same form is the same job); if it can't be written, say so on the form."""
    try:
        await defer(
            bot,
            "form_operation",
            key=f"form:{actor.team_id}:{view.get('id') or secrets.token_hex(8)}",
            actor=actor,
            data={"op": encode_operation(op)},
        )
    except NotTaken as exc:
        await ack(response_action="errors", errors={block: exc.message})
        return
    await ack(response_action="clear")


async def _run_and_post(
    bot: DeployBot, client: AsyncWebClient, actor: Actor, op: Operation
) -> None:
    """A modal has no response_url: results go to the channel, failures only to the person."""
    try:
        outcome = await bot.gate.run(actor, op, bot.slack.io(client, actor.team_id))
    except Exception as exc:
        reply = failure_reply(exc, op)
        await tell_person(client, actor, reply.text)
        return
    await post_result(client, actor, outcome.reply)


__all__ = ["register"]
