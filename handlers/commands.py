"""``/deploy …``: every command is answered in its ack (help and usage at once, the rest once its
job is written); the form commands open their form after it; provider work runs in a worker."""

from __future__ import annotations

import json
import secrets
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.core import modals, replies
from bot.core.arguments import Help
from bot.core.operations import Chain, Operation, OpKind, Usage
from bot.core.parsing import parse
from bot.db.jobs import ClaimedJob
from bot.services.deployments import Actor
from bot.services.outcomes import Pending, Refused
from bot.slack_middleware import RequestStep
from handlers import create
from handlers.common import asker, failure_reply, guarded
from handlers.delivery import ChainStatus, deliver
from handlers.jobs import NotTaken, decode_operation, defer, job_slack

if TYPE_CHECKING:
    from bot.app import DeployBot

STALE = "That choice is out of date: run the command again."
COMMAND = "/deploy"
#: Every slash command this app registers (the manifest test checks it against manifest.yml).
COMMANDS = (COMMAND,)


#: The commands whose ack opens a form: they need Slack's trigger id within 3 s, so the
#: listener runs them (every other command is answered by :class:`AckCommand`).
FORMS = frozenset({OpKind.CREATE, OpKind.TEMPLATE, OpKind.CONNECT, OpKind.REVISE})


@lru_cache(maxsize=256)
def _help_body(topic: str | None) -> str:
    """The help as the ack's JSON body (see :class:`AckCommand`); the usage likewise below."""
    return json.dumps(replies.help_reply(topic).payload())


@lru_cache(maxsize=256)
def _usage_body(usage: Usage) -> str:
    return json.dumps(replies.usage_reply(usage).payload())


def help_answer(text: str) -> tuple[str, str] | None:
    """``/deploy help …`` and input that doesn't parse: (what it was, for the command metric;
    the ack's body). None for everything else."""
    return _help_answer(parse(text))


def _help_answer(parsed: Operation | Chain | Usage) -> tuple[str, str] | None:
    if isinstance(parsed, Usage):
        return "usage", _usage_body(parsed)
    if isinstance(parsed, Operation) and parsed.kind is OpKind.HELP:
        return "help", _help_body(parsed.args.topic if isinstance(parsed.args, Help) else None)
    return None


async def defer_command(
    bot: DeployBot, actor: Actor, command: dict[str, Any], op: Operation | Chain
) -> str:
    """Write the command's job (run by :func:`command_job` in a worker); the ack's JSON body:
    "working on it", or why it can't be taken (the database is down or slow)."""
    try:
        await defer(
            bot,
            "command",
            key=f"command:{actor.team_id}:{command.get('trigger_id') or secrets.token_hex(8)}",
            actor=actor,
            data={"text": command.get("text") or ""},
            response_url=command.get("response_url"),
        )
    except NotTaken as exc:
        kind = op.kind.value if isinstance(op, Operation) else "chain"
        metrics.COMMANDS.labels(kind, "error").inc()
        return json.dumps(replies.error(exc.message).payload())
    return json.dumps(replies.working_reply(op).payload())


async def answer_command(
    bot: DeployBot, actor: Actor, command: dict[str, Any], parsed: Operation | Chain | Usage
) -> str | None:
    """The ack's JSON body of every command but the forms (None): help and usage, or "working
    on it" once the command's job is written (or why it couldn't be)."""
    answer = _help_answer(parsed)
    if answer is not None:
        kind, body = answer
        metrics.COMMANDS.labels(kind, "ok" if kind == "help" else "usage").inc()
        return body
    if isinstance(parsed, Usage) or (isinstance(parsed, Operation) and parsed.kind in FORMS):
        return None  # (a Usage was answered above)
    return await defer_command(bot, actor, command, parsed)


class AckCommand(RequestStep):
    """Listener middleware of ``/deploy``: it answers every command whose ack doesn't open a
    form, and Bolt sends its response as the ack without starting the listener.

    * help, and text that doesn't parse: the reply is a pure function of the text, its JSON
      built once per topic (the whole help is 4 KB);
    * every other command but the forms: its job is written (:func:`defer_command`), then
      "working on it" is the ack — as soon as the row is committed, with no listener task
      and no wait for Bolt's 10 ms poll of ``ack()``.

    The form commands (:data:`FORMS`) go on to the listener, which acks at once and opens the
    form with the trigger id.
    """

    def __init__(self, bot: DeployBot) -> None:
        self.bot = bot

    async def step(self, req: AsyncBoltRequest) -> BoltResponse | None:
        command = req.body if isinstance(req.body, dict) else {}
        text = command.get("text")
        parsed = parse(text if isinstance(text, str) else "")
        body = await answer_command(self.bot, asker(req.context), command, parsed)
        return None if body is None else BoltResponse(status=200, body=body)


def register(bot: DeployBot) -> None:
    async def deploy(ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext) -> None:
        """The form commands (:class:`AckCommand` answered every other)."""
        parsed = parse(command.get("text") or "")
        actor = asker(context)
        if not isinstance(parsed, Operation) or parsed.kind not in FORMS:
            # (AckCommand answered these before the listener; answered the same way here)
            await ack(**json.loads(await answer_command(bot, actor, command, parsed) or "{}"))
            return
        respond: AsyncRespond = context.respond  # type: ignore[assignment]
        client: AsyncWebClient = context.client
        trigger = command.get("trigger_id", "")
        if parsed.kind in (OpKind.CREATE, OpKind.TEMPLATE):
            await ack(**(replies.working_reply(parsed).payload() if parsed.template_op else {}))
            bot.work.spawn(create.dispatch(bot, client, respond, actor, parsed, trigger_id=trigger))
            return
        metrics.COMMANDS.labels(parsed.kind.value, "form").inc()
        await ack()
        if parsed.kind is OpKind.CONNECT:
            bot.work.spawn(open_connect(bot, client, respond, actor, parsed, trigger_id=trigger))
        else:
            bot.work.spawn(open_revise(bot, client, respond, actor, parsed, trigger_id=trigger))

    bot.app.command(COMMAND, middleware=[AckCommand(bot)])(deploy)

    @bot.job("command")
    async def command_job(job: ClaimedJob) -> None:
        """A ``/deploy`` command written before its ack: parsed again, run, answered."""
        found = await job_slack(bot, job)
        if found is None:
            return
        parsed = parse(str(found.data.get("text") or ""))
        if isinstance(parsed, Usage):  # (the ack answered it; a parser change since)
            await found.respond(**replies.usage_reply(parsed).payload())
            return
        await run(bot, found.client, found.respond, found.actor, parsed)

    @bot.job("operation")
    async def operation_job(job: ClaimedJob) -> None:
        """An operation a click picked (already typed): run and answered like a command."""
        found = await job_slack(bot, job)
        if found is None:
            return
        op = decode_operation(found.data.get("op"))
        if op is None:
            await found.respond(**replies.error(STALE).payload(), replace_original=False)
            return
        if found.data.get("working"):  # a pick among matches: its message says "working…"
            await found.respond(**replies.working_reply(op).payload(), replace_original=True)
        await run(bot, found.client, found.respond, found.actor, op)


async def run(
    bot: DeployBot,
    client: AsyncWebClient,
    respond: AsyncRespond,
    actor: Actor,
    op: Operation | Chain,
) -> None:
    """Run a command (or a picked button) through the policy gate; answer via response_url."""
    if isinstance(op, Chain):
        await run_chain(bot, client, respond, actor, op)
        return

    async def work() -> None:
        outcome = await bot.gate.run(actor, op, bot.slack.io(client, actor.team_id))
        await deliver(respond, outcome.reply)
        done.append(True)

    done: list[bool] = []
    await guarded(respond, work, op)
    metrics.COMMANDS.labels(op.kind.value, "ok" if done else "error").inc()


async def run_chain(
    bot: DeployBot, client: AsyncWebClient, respond: AsyncRespond, actor: Actor, chain: Chain
) -> None:
    """One status message in the channel, edited in place as each step runs."""
    status = ChainStatus(client, respond, actor)
    progress = status.show
    try:
        outcome = await bot.gate.run(
            actor, chain, bot.slack.io(client, actor.team_id), progress=progress
        )
    except Exception as exc:
        metrics.COMMANDS.labels("chain", "error").inc()
        reply = failure_reply(exc, chain)
        await respond(**reply.payload(), replace_original=not status.posted)
        return
    if isinstance(outcome, Pending | Refused):
        label = "pending" if isinstance(outcome, Pending) else "refused"
        metrics.COMMANDS.labels("chain", label).inc()
        await respond(**outcome.reply.payload(), replace_original=True)
        return
    metrics.COMMANDS.labels("chain", "error" if outcome.reply.error else "ok").inc()
    await progress(outcome.reply)


async def open_connect(
    bot: DeployBot,
    client: AsyncWebClient,
    respond: AsyncRespond,
    actor: Actor,
    op: Operation,
    *,
    trigger_id: str,
) -> None:
    async def work() -> None:
        slack = bot.slack.io(client, actor.team_id)
        await bot.gate.authorize(actor, "connect", slack, what="connect a provider")
        assert op.provider is not None
        await client.views_open(
            trigger_id=trigger_id,
            view=modals.connect_view(op.provider, channel_id=actor.channel_id),
        )

    await guarded(respond, work, op, replace=False)


async def open_revise(
    bot: DeployBot,
    client: AsyncWebClient,
    respond: AsyncRespond,
    actor: Actor,
    op: Operation,
    *,
    trigger_id: str,
) -> None:
    """Open the form at once (trigger ids last 3 s), then fill it with the current definition."""
    opened = await client.views_open(trigger_id=trigger_id, view=modals.loading_view("Revise"))
    view = opened["view"]

    try:
        form = await bot.service.revision_form(actor, op)
    except Exception as exc:
        reply = failure_reply(exc, op)
        await client.views_update(
            view_id=view["id"],
            hash=view.get("hash"),
            view=modals.message_view("Revise", reply.text),
        )
        return
    await client.views_update(
        view_id=view["id"],
        hash=view.get("hash"),
        view=modals.revise_view(
            form,
            private_metadata=json.dumps(
                {"p": form.provider, "d": form.deployment.id, "c": actor.channel_id}
            ),
        ),
    )


__all__ = ["COMMANDS", "register", "run"]
