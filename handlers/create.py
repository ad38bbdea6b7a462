"""Creating deployments from Slack: the form (with type-ahead markets/nodes), the review with
estimates, the confirmation, Accept/Close on the status message, and templates.

Thin: each listener acks, reads the payload, and calls :class:`bot.services.create.CreateService`.
The two spending calls are ``bot.create.submit`` and ``bot.create.accept_bid`` (see
:func:`spend_create` and :func:`spend_accept`: the one place each is called from).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import create as core
from bot.core import create_views as views
from bot.core import modals
from bot.core.arguments import Create, Template, args_for
from bot.core.operations import Operation, OpKind
from bot.core.render import PROVIDER_LABEL
from bot.core.replies import Reply
from bot.db.jobs import ClaimedJob
from bot.providers.errors import ProviderError
from bot.providers.models import ProviderName
from bot.services.create import CreateService, Review
from bot.services.deployments import Actor
from bot.services.errors import ServiceError
from bot.services.outcomes import Pending, Refused
from handlers.common import (
    DATABASE_DOWN,
    UNKNOWN_PROVIDER,
    answers_outage,
    asker,
    failure_reply,
    guarded,
    known_provider,
)
from handlers.delivery import tell_person
from handlers.jobs import NotTaken, defer, defer_click, job_slack

if TYPE_CHECKING:
    from bot.app import DeployBot

log = logging.getLogger("deploybot.handlers")

PICK = re.compile(rf"^{views.PICK_ACTION}_(nosana|akash|neuranet)$")
ACCEPT = re.compile(rf"^{views.ACCEPT_ACTION}_\d+$")


def _svc(bot: DeployBot) -> CreateService:
    assert bot.create is not None, "the create service is not configured"
    return bot.create


def _meta(view: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def read_form(view: dict[str, Any]) -> dict[str, str]:
    """Every input of the view as ``{block_id: text}`` (selects give their option's value)."""
    values = (view.get("state") or {}).get("values") or {}
    form: dict[str, str] = {}
    for block_id, actions in values.items():
        for state in (actions or {}).values():
            if not isinstance(state, dict):
                continue
            if state.get("selected_option"):
                form[block_id] = str(state["selected_option"].get("value") or "")
            elif "selected_options" in state:
                form[block_id] = ",".join(
                    str(o.get("value") or "") for o in state["selected_options"] or []
                )
            else:
                form[block_id] = str(state.get("value") or "")
    return form


# -- /deploy create and template


async def dispatch(
    bot: DeployBot,
    client: AsyncWebClient,
    respond: AsyncRespond,
    actor: Actor,
    op: Operation,
    *,
    trigger_id: str,
) -> None:
    """``/deploy create …`` (opens the form) and ``/deploy template …`` (answers in place)."""
    if op.kind is OpKind.CREATE:
        await open_create(bot, client, respond, actor, op, trigger_id=trigger_id)
        return

    args = op.args if isinstance(op.args, Template) else Template(kind=OpKind.TEMPLATE)

    async def work() -> None:
        svc = _svc(bot)
        reply: Reply
        if args.sub == "list":
            reply = views.templates_reply(await svc.list_templates(actor))
        elif args.sub == "delete":
            reply = views.template_deleted(await svc.delete_template(actor, args.template or ""))
        else:
            name = args.template or ""
            saved = await svc.save_template(actor, name, op.target or "", op.provider)
            reply = views.template_saved(saved)
        await respond(**reply.payload(), replace_original=True)

    await guarded(respond, work, op)


async def open_create(
    bot: DeployBot,
    client: AsyncWebClient,
    respond: AsyncRespond,
    actor: Actor,
    op: Operation,
    *,
    trigger_id: str,
) -> None:
    """Open a loading view at once (trigger ids last 3 s), then fill it: the form, or — for a
    valid template — the review, one click from created."""
    svc = _svc(bot)
    args = op.args if isinstance(op.args, Create) else Create(kind=OpKind.CREATE)
    provider = op.provider
    if provider is None and args.template is None:
        provider = await _only_provider(svc, respond, actor, op)
        if provider is None:
            return
    try:
        opened = await client.views_open(
            trigger_id=trigger_id, view=modals.loading_view("New deployment")
        )
    except SlackApiError as exc:  # the trigger expired (3 s) or the view was refused
        log.info("could not open the create form: %s", exc.response.get("error"))
        await respond(
            text="Slack didn't let the form open in time; run the command again.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    view = opened["view"]
    try:
        filled = await _filled_view(
            svc, actor, provider, args, submission_key=view["id"], over_budget=op.over_budget
        )
    except Exception as exc:
        filled = modals.message_view("New deployment", failure_reply(exc, op).text)
    await client.views_update(view_id=view["id"], hash=view.get("hash"), view=filled)


async def _only_provider(
    svc: CreateService, respond: AsyncRespond, actor: Actor, op: Operation
) -> ProviderName | None:
    """The one provider to create on; None when the person was asked to pick (or told why
    not)."""
    try:
        names = await svc.creatable(actor)
    except Exception as exc:
        await respond(**failure_reply(exc, op).payload(), replace_original=False)
        return None
    if len(names) != 1:
        await respond(**views.provider_pick_reply(names).payload(), replace_original=False)
        return None
    return names[0]


async def _filled_view(
    svc: CreateService,
    actor: Actor,
    provider: ProviderName | None,
    args: Create,
    *,
    submission_key: str,
    over_budget: bool = False,
) -> dict[str, Any]:
    """The create form (filled from a template and ``field=value`` words), or the review when
    a template makes it complete."""
    form: dict[str, str] = {}
    note: str | None = None
    if args.template:
        template = await svc.template(actor, args.template)
        if provider is not None and provider != template.provider:
            raise ServiceError(
                f"Template `{args.template}` is for {PROVIDER_LABEL[template.provider]}, "
                f"not {PROVIDER_LABEL[provider]}."
            )
        provider = known_provider(template.provider)
        form, note = template.form, f"From template {args.template}."
    assert provider is not None
    form, problems = core.apply_overrides(provider, form, args.overrides)
    if args.template and not problems:
        review = await svc.review(
            actor, provider, form, submission_key=submission_key, over_budget=over_budget
        )
        if review.request is not None and review.estimate is not None:
            return views.review_view(
                provider, review.summary, review.estimate, request_id=review.request.id
            )
        problems = review.errors
    meta = json.dumps({"p": provider, "c": actor.channel_id, **({"o": 1} if over_budget else {})})
    return views.form_view(provider, form, private_metadata=meta, problems=problems, note=note)


# -- the policy seams: the only two places that spend


async def spend_create(
    bot: DeployBot, client: AsyncWebClient, actor: Actor, request_id: str
) -> None:
    """Run a confirmed create through the policy gate (spend: approval by default)."""
    try:
        outcome = await bot.gate.create(actor, request_id, bot.slack.io(client, actor.team_id))
    except Exception as exc:
        await tell_person(client, actor, failure_reply(exc).text)
        return
    if isinstance(outcome, Pending | Refused):
        await tell_person(client, actor, outcome.reply.text)


async def spend_accept(
    bot: DeployBot,
    client: AsyncWebClient,
    respond: AsyncRespond,
    actor: Actor,
    *,
    request_id: str,
    bid: str,
) -> None:
    """Lease the chosen bid through the policy gate (spend: approval by default)."""

    async def work() -> None:
        outcome = await bot.gate.accept(actor, request_id, bid, bot.slack.io(client, actor.team_id))
        if isinstance(outcome, Pending | Refused):
            await respond(**outcome.reply.payload(), replace_original=False)

    await guarded(respond, work, replace=False)


# -- jobs


def register_jobs(bot: DeployBot) -> None:
    """The create flow's work after the ack (see ``handlers.jobs``)."""

    @bot.job("create")
    async def create_job(job: ClaimedJob) -> None:
        found = await job_slack(bot, job)
        if found is not None:
            request_id = str(found.data.get("request_id") or "")
            await spend_create(bot, found.client, found.actor, request_id)

    @bot.job("accept_bid")
    async def accept_job(job: ClaimedJob) -> None:
        found = await job_slack(bot, job)
        if found is not None:
            request_id, bid = str(found.data.get("request_id")), str(found.data.get("bid"))
            await spend_accept(
                bot, found.client, found.respond, found.actor, request_id=request_id, bid=bid
            )

    @bot.job("close_request")
    async def close_job(job: ClaimedJob) -> None:
        found = await job_slack(bot, job)
        if found is None:
            return
        actor, respond = found.actor, found.respond
        request_id = str(found.data.get("request_id") or "")

        async def work() -> None:
            outcome = await bot.gate.close_request(
                actor, request_id, bot.slack.io(found.client, actor.team_id)
            )
            if isinstance(outcome, Pending | Refused):
                await respond(**outcome.reply.payload(), replace_original=False)

        await guarded(respond, work, replace=False)

    assert bot.create is not None
    creator = bot.create

    @bot.job("create_bids")
    async def bids_job(job: ClaimedJob) -> None:
        await creator.wait_for_bids(str((job.payload.get("data") or {}).get("request_id")))

    @bot.job("create_follow")
    async def follow_job(job: ClaimedJob) -> None:
        await creator.follow(str((job.payload.get("data") or {}).get("request_id")))

    async def later(kind: str, request_id: str) -> None:
        await bot.defer(
            f"create_{kind}",
            key=f"{kind}:{request_id}",
            actor=None,
            data={"request_id": request_id},
        )

    creator.later = later


# -- listeners


def _form_outage(view: dict[str, Any]) -> dict[str, Any]:
    """The create form's answer while the database is unreachable: an error on its first field."""
    first = next(iter(core.FIELDS.get(str(_meta(view).get("p")), ("name",))))
    return {"response_action": "errors", "errors": {first: DATABASE_DOWN}}


def _review_outage(view: dict[str, Any]) -> dict[str, Any]:
    return {
        "response_action": "update",
        "view": modals.message_view("New deployment", DATABASE_DOWN),
    }


async def _review(
    svc: CreateService,
    actor: Actor,
    provider: ProviderName,
    form: dict[str, str],
    key: str,
    *,
    over_budget: bool = False,
) -> Review | str:
    """The form checked and priced, or why it could not be (one line for the form)."""
    try:
        return await svc.review(actor, provider, form, submission_key=key, over_budget=over_budget)
    except (ServiceError, ProviderError) as exc:
        return exc.message[:1900]
    except TimeoutError:
        return "The provider took too long to answer; submit again."


def _form_errors(problems: dict[str, str], view: dict[str, Any], first: str) -> dict[str, str]:
    """Field errors keyed by the form's input blocks (anything else goes on the first one)."""
    blocks = {b.get("block_id") for b in view.get("blocks") or []}
    errors: dict[str, str] = {}
    for key, message in problems.items():
        target = key if key in blocks or not blocks else first
        errors[target] = (f"{errors[target]}; {message}" if target in errors else message)[:1900]
    return errors


def register(bot: DeployBot) -> None:
    app = bot.app
    svc = _svc(bot)

    @app.view(views.CREATE_FORM)
    @answers_outage(_form_outage)
    async def form_submitted(
        ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        meta = _meta(view)
        provider = known_provider(meta.get("p"))
        form = read_form(view)
        first = next(iter(core.FIELDS.get(str(provider), ("name",))))
        if provider is None:
            await ack(response_action="errors", errors={first: "This form expired; start again."})
            return
        actor = replace(asker(context), channel_id=meta.get("c"))
        review = await _review(
            svc, actor, provider, form, str(view.get("id")), over_budget=bool(meta.get("o"))
        )
        if isinstance(review, str):
            await ack(response_action="errors", errors={first: review})
            return
        if review.errors or review.request is None or review.estimate is None:
            errors = _form_errors(review.errors or {"form": "not valid"}, view, first)
            await ack(response_action="errors", errors=errors)
            return
        await ack(
            response_action="update",
            view=views.review_view(
                provider,
                review.summary,
                review.estimate,
                request_id=review.request.id,
                template_saved=review.template_saved,
            ),
        )

    @app.view(views.CREATE_REVIEW)
    @answers_outage(_review_outage)
    async def review_confirmed(
        ack: AsyncAck,
        view: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        request_id = str(_meta(view).get("r") or "")
        where = "the channel"
        row = await svc.store.get(request_id) if request_id else None
        if row is None:
            await ack(
                response_action="update",
                view=modals.message_view("New deployment", "This form expired; start again."),
            )
            return
        if row.channel_id:
            where = f"<#{row.channel_id}>"
        actor = replace(asker(context), channel_id=row.channel_id)
        # each confirm is a job; the request itself is created once (a second confirm, e.g. a
        # Slack retry, is told it was already submitted)
        try:
            await defer(
                bot,
                "create",
                key=f"create:{request_id}:{secrets.token_hex(6)}",
                actor=actor,
                data={"request_id": request_id},
            )
        except NotTaken as exc:
            await ack(
                response_action="update", view=modals.message_view("New deployment", exc.message)
            )
            return
        await ack(
            response_action="update",
            view=modals.message_view(
                "New deployment",
                f":rocket: Submitted. Its status is posted in {where} and kept up to date.",
            ),
        )

    _register_buttons(bot, svc)
    register_jobs(bot)


def _register_buttons(bot: DeployBot, svc: CreateService) -> None:
    """The buttons and type-aheads of the create flow."""
    app = bot.app

    @app.action(PICK)
    async def pick(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        actor = asker(context)
        provider = known_provider(((body.get("actions") or [{}])[0]).get("value"))
        if provider is None:
            await respond(text=UNKNOWN_PROVIDER, replace_original=False)
            return
        op = Operation(args=args_for(OpKind.CREATE), provider=provider)
        bot.work.spawn(
            open_create(bot, client, respond, actor, op, trigger_id=body.get("trigger_id", ""))
        )

    @app.action(ACCEPT)
    async def accept(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        actor = asker(context)
        try:
            value = json.loads(((body.get("actions") or [{}])[0]).get("value") or "{}")
            request_id, bid = str(value["r"]), str(value["b"])
        except (ValueError, KeyError, TypeError):
            await ack()
            await respond(text="That button is out of date.", replace_original=False)
            return
        data = {"request_id": request_id, "bid": bid}
        await defer_click(
            bot, ack, respond, client, kind="accept_bid", body=body, actor=actor, data=data
        )

    @app.action(views.CLOSE_ACTION)
    async def close(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        actor = asker(context)
        try:
            request_id = str(json.loads(((body.get("actions") or [{}])[0]).get("value"))["r"])
        except (ValueError, KeyError, TypeError):
            await ack()
            await respond(text="That button is out of date.", replace_original=False)
            return
        data = {"request_id": request_id}
        await defer_click(
            bot, ack, respond, client, kind="close_request", body=body, actor=actor, data=data
        )

    async def _options(
        ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, kind: str
    ) -> None:
        actor = asker(context)
        try:
            items = await svc.options(actor, kind, str(body.get("value") or ""))
        except Exception as exc:  # the menu must get an answer within 3 s, whatever happens
            log.info("options failed: %s", type(exc).__name__)
            await ack(options=[])
            return
        await ack(
            options=[
                {"text": {"type": "plain_text", "text": core.place_label(m)}, "value": m.id[:150]}
                for m in items[:100]
            ]
        )

    @app.options(views.MARKET_ACTION)
    async def market_options(
        ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await _options(ack, body, context, "nosana")

    @app.options(views.NODE_ACTION)
    async def node_options(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await _options(ack, body, context, "neuranet")


__all__ = ["dispatch", "open_create", "read_form", "register", "spend_accept", "spend_create"]
