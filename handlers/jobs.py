"""Listeners write their after-ack work as jobs; this module is both ends of that:

* :func:`defer` — in the listener, before the ack: write the job (bounded in time), or say
  why it can't be taken (the database is down) so the ack can tell the person;
* :func:`job_slack` — in the worker: who asked, a Web API client for their workspace and a
  ``respond`` to their response URL (a direct message where there is none, e.g. App Home);
* :func:`resume` and :func:`give_up` — a job taken over from a dead worker with a provider
  call recorded but unanswered is reconciled against the provider, never re-sent blindly; a
  job that can't be done tells the person so.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.operations import Chain, Operation
from bot.core.replies import Reply, decode_pick
from bot.db import approvals as states
from bot.db.approvals import ApprovalRequest
from bot.db.engine import is_database_outage
from bot.db.jobs import ClaimedJob
from bot.jobs.journal import JobRun
from bot.jobs.reconcile import Judged, Verdict, reconcile
from bot.services.deployments import Actor
from handlers.common import DATABASE_DOWN
from handlers.delivery import dm_responder, responder

if TYPE_CHECKING:
    from bot.app import DeployBot

log = logging.getLogger(__name__)

#: How long a listener may spend writing its job before it answers anyway (Slack: 3 s).
ENQUEUE_BUDGET = 2.0
DATABASE_SLOW = (
    "deploybot's database is slow right now, so this may or may not go through: wait a minute "
    "and check (e.g. `/deploy list`) before trying again."
)

#: job kind → who else must hear how a job taken over (or given up) ended: (bot, job, what
#: the person is told, whether it surely happened). E.g. a workflow step completes with it.
ENDINGS: dict[str, Callable[[DeployBot, ClaimedJob, str, bool], Awaitable[None]]] = {}


class NotTaken(Exception):
    """The job could not be written; ``message`` is what the person is told."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def defer(
    bot: DeployBot,
    kind: str,
    *,
    key: str,
    actor: Actor | None,
    data: dict[str, Any],
    response_url: str | None = None,
    while_running: bool = False,
) -> bool:
    """Write the job before the ack. Returns False for a duplicate (a retry, a double click);
    raises :class:`NotTaken` when it can't be written in time."""
    try:
        # (the queue's one timer for every waiting write, not a timer per request)
        return await bot.defer(
            kind,
            key=key,
            actor=actor,
            data=data,
            response_url=response_url,
            while_running=while_running,
            within=ENQUEUE_BUDGET,
        )
    except TimeoutError:
        # the write may still commit (and the work run): never invite a blind retry
        log.warning("writing a %s job took too long: the database is slow or down", kind)
        raise NotTaken(DATABASE_SLOW) from None
    except Exception as exc:
        if not is_database_outage(exc):
            raise
        log.warning("could not write a %s job: the database is unreachable", kind)
        raise NotTaken(DATABASE_DOWN) from None


async def defer_click(
    bot: DeployBot,
    ack: AsyncAck,
    respond: AsyncRespond,
    client: AsyncWebClient,
    *,
    kind: str,
    body: dict[str, Any],
    actor: Actor,
    data: dict[str, Any],
) -> None:
    """Write a click's work as a job, then ack; if it can't be written, ack and say so (by
    direct message for clicks in App Home, which have no response URL)."""
    try:
        await defer(
            bot,
            kind,
            key=click_key(body, actor),
            actor=actor,
            data=data,
            response_url=body.get("response_url"),
            while_running=True,
        )
    except NotTaken as exc:
        await ack()
        answer = responder(bot.slack, client, body, respond)
        await answer(**Reply(text=exc.message).payload(), replace_original=False)
        return
    await ack()


def encode_operation(op: Operation | Chain) -> str:
    """A typed operation (or chain) as a job carries it (:func:`decode_operation` reads it)."""
    return json.dumps({"chain" if isinstance(op, Chain) else "op": op.model_dump(mode="json")})


def decode_operation(value: object) -> Operation | Chain | None:
    """None when the job's operation no longer reads (a version of deploybot ago)."""
    try:
        return decode_pick(str(value))
    except (ValueError, KeyError, TypeError):
        return None


def click_key(body: dict[str, Any], actor: Actor) -> str:
    """One job per button while it runs: a double click on the same button of the same message
    by the same person is the same job."""
    action = (body.get("actions") or [{}])[0]
    container = body.get("container") or {}
    where = container.get("message_ts") or container.get("view_id") or ""
    value = str(action.get("value") or "") if isinstance(action, dict) else ""
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    action_id = str(action.get("action_id") or "") if isinstance(action, dict) else ""
    return f"click:{actor.team_id}:{actor.user_id}:{where}:{action_id[:40]}:{digest}"


@dataclass
class JobSlack:
    """What a job's work needs of Slack, rebuilt in the worker from the job's payload."""

    actor: Actor
    client: AsyncWebClient
    respond: AsyncRespond
    data: dict[str, Any]


async def job_slack(bot: DeployBot, job: ClaimedJob) -> JobSlack | None:
    """None when deploybot is no longer installed in the workspace (nobody to tell)."""
    actor = Actor.from_json(job.payload.get("actor"))
    client = await bot.slack.client_for(actor.team_id, actor.enterprise_id)
    if client is None:
        log.info("job %s: the workspace uninstalled deploybot; dropping it", job.id)
        return None
    url = job.payload.get("response_url")
    respond = (
        bot.slack.respond_to(str(url))
        if url
        else dm_responder(bot.slack, client, actor.team_id, actor.user_id)
    )
    data = job.payload.get("data")
    return JobSlack(actor, client, respond, data if isinstance(data, dict) else {})


# -- resuming a job taken over from a dead worker --------------------------------------------


async def resume(bot: DeployBot, job: ClaimedJob, run: JobRun) -> bool:
    """Reconcile the unanswered provider calls of a taken-over job. False: none of them reached
    the provider (the job runs again, from the start). True: the person was told what
    happened (and an approval request finished accordingly)."""
    actor = await _whose(bot, job)
    verdicts: list[Judged] = []
    for call in job.unconfirmed:
        try:
            client = await bot.pool.get(actor.team_id, call.provider, actor.enterprise_id)  # type: ignore[arg-type]
        except Exception as exc:
            log.warning("job %s: can't reach %s to reconcile (%s)", job.id, call.provider, exc)
            verdicts.append(
                Judged(
                    Verdict.UNKNOWN,
                    f"The {call.method} of `{call.target}` may or may not have happened — "
                    "check `/deploy list`.",
                )
            )
            continue
        # a create is looked for among deployments made since the job was written: an older
        # one of the same name is not it
        judged = await reconcile(client, call, since=job.created_at or None)
        verdicts.append(judged)
        if call.method == "create" and bot.create is not None:
            # the create request follows what was found: adopted, or ended as "may exist"
            found = judged.found if judged.verdict is Verdict.HAPPENED else None
            await bot.create.reconciled(actor.team_id, call.target, found, judged.text)
    if all(v.verdict is Verdict.NOT_HAPPENED for v in verdicts):
        log.info("job %s: taken over; nothing had reached the provider, running it", job.id)
        return False
    happened = all(v.verdict is Verdict.HAPPENED for v in verdicts)
    lead = (
        ":white_check_mark: deploybot restarted while doing this; I checked:"
        if happened
        else ":warning: deploybot restarted while doing this, and I can't tell for sure:"
    )
    text = "\n".join([lead, *(f"• {v.text}" for v in verdicts)])
    log.info("job %s: taken over and reconciled (%s)", job.id, "done" if happened else "unsure")
    request_id = str((job.payload.get("data") or {}).get("request_id") or "")
    if request_id and job.kind == "approved_run":
        await _finish_request(bot, request_id, text, happened)
        return True
    await tell(bot, job, text)
    if job.kind in ENDINGS:
        await ENDINGS[job.kind](bot, job, text, happened)
    return True


async def _whose(bot: DeployBot, job: ClaimedJob) -> Actor:
    """Whose workspace the job's calls were made in (an approved run: the requester's)."""
    request_id = str((job.payload.get("data") or {}).get("request_id") or "")
    if job.kind == "approved_run" and request_id:
        row = await bot.gate.approvals.get(request_id)
        if row is not None:
            return Actor(row.team_id, row.requester_id, row.enterprise_id or None)
    return Actor.from_json(job.payload.get("actor"))


async def _finish_request(bot: DeployBot, request_id: str, text: str, happened: bool) -> None:
    row: ApprovalRequest | None = await bot.gate.approvals.get(request_id)
    if row is None:
        return
    slack = await bot.slack_for(row.team_id, row.enterprise_id or None)
    if slack is None:
        return
    await bot.gate.lifecycle.finish(row, states.DONE if happened else states.FAILED, text, slack)
    await bot.gate.lifecycle.say_in_thread(await bot.gate.approvals.get(row.id), text, slack)


async def tell(bot: DeployBot, job: ClaimedJob, text: str) -> None:
    """A one-line note to whoever started the job (their response URL, else a DM)."""
    found = await job_slack(bot, job)
    if found is None:
        return
    try:
        await found.respond(**Reply(text=text).payload(), replace_original=False)
    except Exception as exc:  # an expired response URL: a direct message instead
        log.info("job %s: response URL refused the note (%s); sending a DM", job.id, exc)
        await bot.slack.io(found.client, found.actor.team_id).dm(
            found.actor.user_id, Reply(text=text)
        )


async def give_up(bot: DeployBot, job: ClaimedJob, why: str) -> None:
    text = (
        ":warning: deploybot couldn't finish this after several restarts, so it may or may not "
        "have happened — check `/deploy list` before trying again."
    )
    try:
        await tell(bot, job, text)
        if job.kind in ENDINGS:
            await ENDINGS[job.kind](bot, job, text, False)
    except Exception:
        log.warning("job %s: could not tell the person it was given up (%s)", job.id, why)
