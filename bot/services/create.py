"""Creating deployments: the form is checked and priced, stored as a request row, then created
once; Akash deployments then wait for bids, one is accepted, and the lease's URIs are shown.

Spending happens in exactly two methods, :meth:`CreateService.submit` (the create) and
:meth:`CreateService.accept_bid` (the lease). Both take an :class:`Actor` and the id of a
stored, validated request, so a policy gate (approvals) can sit in front of them and call them
later, from any replica. Everything they need is in the database: the spec, the bids, the
Akash manifest, the status message's ``ts``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.background import BackgroundWork
from bot.config import Settings
from bot.core import create as core
from bot.core import create_views as views
from bot.core.create_summary import CreateFacts, create_summary, lease_summary
from bot.core.preflight import Cleared, Refused
from bot.core.preflight_create import preflight_create
from bot.core.render import PROVIDER_LABEL
from bot.core.replies import Reply
from bot.db.create_store import CreateStore, RequestRow, TemplateRow
from bot.providers.base import BaseProvider
from bot.providers.errors import ProviderError
from bot.providers.models import (
    Bid,
    Capability,
    Deployment,
    DeploymentStatus,
    Market,
    ProviderName,
)
from bot.services.deployments import Actor, DeploymentService
from bot.services.errors import NoMatchError, ServiceError, UnsupportedError
from bot.services.preflight import gather_create

log = logging.getLogger(__name__)

#: How long the catalogs (markets, nodes) are reused for the type-ahead and the review.
CATALOG_TTL = 60.0
#: Time budget for the provider calls made while Slack waits for a modal's answer (3 s).
REVIEW_BUDGET = 2.2
#: Polls without a new bid after which the wait stops (the Accept buttons keep working).
QUIET_POLLS = 3
#: Unconfirmed drafts are forgotten after this long.
DRAFT_TTL = timedelta(days=2)
#: A create or lease still "in progress" this long after its last change was interrupted.
INTERRUPTED_AFTER = timedelta(minutes=15)

Publisher = Callable[[RequestRow, Reply], Awaitable[None]]


class _Spec(BaseModel):
    """A validated spec handed to ``provider.create`` as a model (fields pass through)."""

    model_config = ConfigDict(extra="allow")


@dataclass
class Review:
    """The outcome of a form's first submission: field errors, or a stored draft to confirm."""

    errors: dict[str, str] = field(default_factory=dict)
    request: RequestRow | None = None
    summary: list[tuple[str, str]] = field(default_factory=list)
    estimate: core.Estimate | None = None
    template_saved: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _actor(row: RequestRow) -> Actor:
    return Actor(
        team_id=row.team_id,
        user_id=row.user_id,
        enterprise_id=row.enterprise_id or None,
        channel_id=row.channel_id,
    )


def _bid_json(bid: Bid) -> dict[str, Any]:
    return bid.model_dump(mode="json")


class CreateService:
    def __init__(
        self,
        store: CreateStore,
        deployments: DeploymentService,
        settings: Settings,
        work: BackgroundWork,
        *,
        publisher: Publisher | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.store = store
        self.deployments = deployments
        self.work = work
        self.clock = clock
        self.bid_timeout = float(settings.akash_bid_timeout)
        self.poll_interval = float(settings.create_poll_interval)
        self.follow_timeout = float(settings.create_follow_timeout)
        #: Posts the status message, then edits it in place (None: nowhere to post).
        self.publisher = publisher
        self._catalogs: dict[tuple[str, str, str], tuple[float, list[Market]]] = {}
        self._provider_info: dict[str, tuple[float, dict[str, Any]]] = {}

    # -- the form ------------------------------------------------------------------------------

    async def client(self, actor: Actor, provider: ProviderName) -> BaseProvider:
        client = await self.deployments.client(actor, provider)
        if Capability.CREATE not in client.capabilities:
            raise UnsupportedError(f"{client.display_name} deployments can't be created here.")
        return client

    async def creatable(self, actor: Actor) -> list[ProviderName]:
        names = await self.deployments.connected_names(actor)
        return [n for n in names if n in core.FIELDS]

    async def catalog(self, actor: Actor, provider: str) -> list[Market] | None:
        """Markets (Nosana) or nodes (NeuraNET), cached briefly; None for Akash."""
        if provider not in ("nosana", "neuranet"):
            return None
        slot = (actor.enterprise_id or "", actor.team_id, provider)
        cached = self._catalogs.get(slot)
        now = time.monotonic()
        if cached and now - cached[0] < CATALOG_TTL:
            return cached[1]
        client = await self.client(actor, provider)  # type: ignore[arg-type]
        items = await (client.markets() if provider == "nosana" else client.nodes())
        self._catalogs[slot] = (now, items)
        return items

    async def options(self, actor: Actor, provider: str, query: str) -> list[Market]:
        """The type-ahead: catalog entries matching ``query`` (see ``core.filter_places``)."""
        items = await asyncio.wait_for(self.catalog(actor, provider), REVIEW_BUDGET)
        return core.filter_places(items or [], query)

    async def review(
        self, actor: Actor, provider: ProviderName, form: dict[str, str], submission_key: str
    ) -> Review:
        """Check the form (all fields at once), price it, check the balance, store a draft.

        Nothing is created here: :meth:`submit` does that once the person confirms.
        """
        if provider not in core.FIELDS:
            return Review(errors={"provider": "unknown provider"})
        client = await self.client(actor, provider)

        async def catalog() -> list[Market] | None:
            try:
                return await self.catalog(actor, provider)
            except ProviderError as exc:
                log.info("catalog unavailable: %s", exc.message)
                return None

        async def balance() -> tuple[Decimal | None, str | None]:
            if Capability.BALANCE not in client.capabilities:
                return None, None
            try:
                return (await client.balance()).available_usd, None
            except ProviderError as exc:
                return None, exc.message

        try:
            async with asyncio.timeout(REVIEW_BUDGET):
                items, (money, problem) = await asyncio.gather(catalog(), balance())
        except TimeoutError:
            items, money, problem = (
                self._catalogs.get((actor.enterprise_id or "", actor.team_id, provider), (0, None))[
                    1
                ],
                None,
                "the provider took too long",
            )
        built = core.build_spec(provider, form, items)
        if not built.ok:
            return Review(errors=built.errors)
        estimate = core.estimate(provider, built.spec, built.place, money, balance_problem=problem)
        saved = None
        name = form.get(core.SAVE_AS, "").strip()
        if name:
            await self.store.save_template(
                team_id=actor.team_id,
                enterprise_id=actor.enterprise_id,
                name=name,
                provider=provider,
                form={k: v for k, v in form.items() if k != core.SAVE_AS and v},
                created_by=actor.user_id,
            )
            saved = name
        row = await self.store.put_draft(
            submission_key=submission_key,
            team_id=actor.team_id,
            enterprise_id=actor.enterprise_id,
            user_id=actor.user_id,
            channel_id=actor.channel_id,
            provider=provider,
            form={k: v for k, v in form.items() if k != core.SAVE_AS},
            spec={**built.spec, "_summary": built.summary},
            estimate=estimate.to_json(),
        )
        return Review(request=row, summary=built.summary, estimate=estimate, template_saved=saved)

    # -- spending: the create ------------------------------------------------------------------

    async def preflight(self, actor: Actor, request_id: str) -> Cleared | Refused:
        """Can this create succeed with what the account holds? (The balance: one read; the
        market or node comes from the form's cached catalog.)"""
        row = await self._own(actor, request_id)
        client = await self.client(_actor(row), row.provider)  # type: ignore[arg-type]
        spec = {k: v for k, v in row.spec.items() if not k.startswith("_")}
        place_id = spec.get("market") or spec.get("node")
        place: Market | None = None
        if place_id:
            try:
                items = await asyncio.wait_for(self.catalog(actor, row.provider), REVIEW_BUDGET)
            except (TimeoutError, ProviderError):
                items = None
            place = next((m for m in items or [] if m.id == place_id), None)
        return preflight_create(await gather_create(client, spec, place))

    async def submit(self, actor: Actor, request_id: str) -> RequestRow:
        """Create the deployment of a stored, validated request — at most once.

        Policy seam: call this only once the operation is allowed (a spend). A second call
        (a Slack retry, a double click, another replica) finds the request no longer a draft
        and returns it unchanged.
        """
        row = await self._own(actor, request_id)
        if not await self.store.transition(request_id, ["draft"], "creating"):
            return await self._row(request_id)
        row = await self._row(request_id)
        await self._publish(row)
        client = await self.client(_actor(row), row.provider)  # type: ignore[arg-type]
        spec = {k: v for k, v in row.spec.items() if not k.startswith("_")}
        try:
            result = await client.create(_Spec(**spec))
        except ProviderError as exc:
            await self._fail(row, exc.message)
            return await self._row(request_id)
        except Exception:
            log.exception("create failed")
            await self._fail(row, "Something went wrong on our side; it has been logged.")
            return await self._row(request_id)
        deployment = result.deployment
        stored = {
            "deployment": deployment.model_dump(mode="json"),
            "estimated_cost_per_hour_usd": (
                None
                if result.estimated_cost_per_hour_usd is None
                else str(result.estimated_cost_per_hour_usd)
            ),
            **{k: v for k, v in result.extras.items() if isinstance(k, str)},
        }
        log.info(
            "deployment created",
            extra={
                "team": row.team_id,
                "user": row.user_id,
                "operation": "create",
                "provider": row.provider,
                "deployment": deployment.id,
                "request": row.id,
            },
        )
        if Capability.BIDS in client.capabilities and Capability.LEASE in client.capabilities:
            deadline = self.clock() + timedelta(seconds=self.bid_timeout)
            await self.store.transition(
                request_id,
                ["creating"],
                "bidding",
                deployment_id=deployment.id,
                result=stored,
                bid_deadline=deadline,
            )
            await self._publish(await self._row(request_id))
            self.work.spawn(self.wait_for_bids(request_id), name=f"bids:{request_id}")
        else:
            await self.store.transition(
                request_id, ["creating"], "created", deployment_id=deployment.id, result=stored
            )
            await self._publish(await self._row(request_id))
            self.work.spawn(self.follow(request_id), name=f"follow:{request_id}")
        return await self._row(request_id)

    # -- Akash: bids → lease ---------------------------------------------------------------------

    async def wait_for_bids(self, request_id: str) -> None:
        """Poll for bids until one is accepted, the wait times out, or bids stop changing.

        Bounded by the request's ``bid_deadline`` (``DEPLOYBOT_AKASH_BID_TIMEOUT``); it can
        run on any replica (it resumes at start-up) since everything it needs is in the row.
        """
        quiet = 0
        while True:
            row = await self._row(request_id)
            if row.state != "bidding" or not row.deployment_id:
                return
            client = await self.client(_actor(row), row.provider)  # type: ignore[arg-type]
            try:
                bids = await client.bids(row.deployment_id)
            except ProviderError as exc:
                log.info("bids unavailable: %s", exc.message)
                bids = None
            if bids is not None:
                known = {views.bid_key(b) for b in row.bids if b.get("state") == "open"}
                fresh = [_bid_json(b) for b in bids]
                open_now = {views.bid_key(b) for b in fresh if b.get("state") == "open"}
                if open_now != known or len(fresh) != len(row.bids):
                    quiet = 0
                    await self._lookup_providers(client, fresh, row)
                    await self.store.set(request_id, bids=fresh)
                    await self._publish(await self._row(request_id))
                elif open_now:
                    quiet += 1
                if open_now and quiet >= QUIET_POLLS:
                    return
            deadline = row.bid_deadline or self.clock()
            if self.clock() >= deadline:
                row = await self._row(request_id)
                no_open_bids = not any(b.get("state") == "open" for b in row.bids)
                if no_open_bids and await self.store.transition(request_id, ["bidding"], "no_bids"):
                    await self._publish(await self._row(request_id))
                return
            await asyncio.sleep(self.poll_interval)

    async def _lookup_providers(
        self, client: BaseProvider, bids: list[dict[str, Any]], row: RequestRow
    ) -> None:
        """Name, audit and uptime of each bidding provider (cached; best effort)."""
        infos: dict[str, Any] = dict(row.result.get("providers") or {})
        now = time.monotonic()
        for address in {str(b.get("provider_address")) for b in bids}:
            cached = self._provider_info.get(address)
            if cached and now - cached[0] < 600:
                infos[address] = cached[1]
                continue
            if address in infos:
                continue
            try:
                info = views.provider_info_json(await client.provider_info(address))
            except ProviderError:
                continue
            self._provider_info[address] = (now, info)
            infos[address] = info
        await self.store.set(row.id, result={**row.result, "providers": infos})

    async def accept_bid(self, actor: Actor, request_id: str, bid_key: str) -> RequestRow:
        """Lease the chosen bid of a request waiting for bids — at most once.

        Policy seam: call this only once the operation is allowed (a spend). The conditional
        ``bidding → leasing`` update makes a second click (any replica) a no-op that returns
        the request as it is.
        """
        row = await self._row(request_id)
        if row.team_id != actor.team_id or row.enterprise_id != (actor.enterprise_id or ""):
            raise NoMatchError("That deployment request is not from this workspace.")
        bid = next((b for b in row.bids if views.bid_key(b) == bid_key), None)
        if bid is None:
            raise ServiceError(
                "That bid is no longer listed: use a button from the latest message."
            )
        if bid.get("state") != "open":
            raise ServiceError("That bid is no longer open: choose another one.")
        if not await self.store.transition(
            request_id, ["bidding", "no_bids"], "leasing", accepted_bid=bid_key
        ):
            return await self._row(request_id)
        row = await self._row(request_id)
        await self._publish(row)
        client = await self.client(_actor(row), row.provider)  # type: ignore[arg-type]
        try:
            stored = await self.store.certificate(
                team_id=row.team_id, enterprise_id=row.enterprise_id, provider=row.provider
            )
            new = await client.lease_credentials(stored)
            if new:
                await self.store.put_certificate(
                    team_id=row.team_id,
                    enterprise_id=row.enterprise_id,
                    provider=row.provider,
                    data=new,
                )
            deployment = await client.accept_bids(
                row.deployment_id or "",
                [Bid.model_validate(bid)],
                manifest=row.result.get("manifest"),
            )
        except Exception as exc:
            # The lease did not happen: the request waits for a bid again (fresh list).
            message = (
                exc.message
                if isinstance(exc, ProviderError | ServiceError)
                else ("Something went wrong on our side; it has been logged.")
            )
            await self.store.transition(
                request_id, ["leasing"], "bidding", accepted_bid=None, error=message
            )
            row = await self._row(request_id)
            await self._publish(row)
            raise
        await self.store.transition(
            request_id,
            ["leasing"],
            "leased",
            result={**row.result, "deployment": deployment.model_dump(mode="json")},
            error=None,
        )
        row = await self._row(request_id)
        await self._publish(row)
        log.info(
            "lease created",
            extra={"team": row.team_id, "provider": row.provider, "request": row.id},
        )
        self.work.spawn(self.follow(request_id), name=f"follow:{request_id}")
        return row

    async def close(self, actor: Actor, request_id: str) -> RequestRow:
        """Close a deployment that has no lease yet (refunds the deposit)."""
        row = await self._own(actor, request_id, same_user=False)
        if not await self.store.transition(request_id, ["bidding", "no_bids"], "closing"):
            return row
        client = await self.client(_actor(row), row.provider)  # type: ignore[arg-type]
        try:
            await client.close(row.deployment_id or "")
        except ProviderError:
            await self.store.transition(request_id, ["closing"], row.state)
            raise
        await self.store.transition(request_id, ["closing"], "closed")
        row = await self._row(request_id)
        await self._publish(row)
        return row

    # -- following the new deployment -------------------------------------------------------------

    async def follow(self, request_id: str) -> None:
        """Refresh the status message until the deployment runs (with URIs on Akash), fails,
        or ``DEPLOYBOT_CREATE_FOLLOW_TIMEOUT`` passes."""
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + self.follow_timeout
        last: dict[str, Any] | None = None
        while True:
            row = await self._row(request_id)
            if row.state not in ("created", "leased") or not row.deployment_id:
                return
            client = await self.client(_actor(row), row.provider)  # type: ignore[arg-type]
            try:
                deployment = await client.get(row.deployment_id)
            except ProviderError:
                deployment = None
            if deployment is not None:
                dumped = deployment.model_dump(mode="json")
                if dumped != last:
                    last = dumped
                    await self.store.set(request_id, result={**row.result, "deployment": dumped})
                    await self._publish(await self._row(request_id))
                if _settled(deployment, leased=bool(row.accepted_bid)):
                    return
            if loop.time() >= stop_at:
                return
            await asyncio.sleep(self.poll_interval)

    async def resume(self) -> int:
        """At start-up: pick up bid waits that were running (on this or another replica), say
        what happened to creates and leases a dead process left half-done, forget old drafts.
        """
        now = self.clock()
        await self.store.purge_drafts(now - DRAFT_TTL)
        for row in await self.store.stale(["creating", "leasing"], now - INTERRUPTED_AFTER):
            message = (
                "deploybot restarted while this was being created; it may exist: check "
                "`/deploy list` before creating it again."
                if row.state == "creating"
                else "deploybot restarted while the lease was being created: check "
                f"`/deploy show {row.deployment_id}` (close it if it has no lease)."
            )
            if await self.store.transition(row.id, [row.state], "failed", error=message):
                await self._publish(await self._row(row.id))
        count = 0
        for row in await self.store.in_states(["bidding"]):
            self.work.spawn(self.wait_for_bids(row.id), name=f"bids:{row.id}")
            count += 1
        return count

    # -- templates ------------------------------------------------------------------------------

    async def save_template(
        self, actor: Actor, name: str, ref: str, provider: ProviderName | None
    ) -> Reply:
        if not core.TEMPLATE_NAME.match(name):
            raise ServiceError("A template name is lowercase letters, digits, . _ - (≤ 64).")
        resolved = await self.deployments.resolve(actor, ref, provider)
        try:
            text, _ = await resolved.provider.revision_template(resolved.deployment)
        except ProviderError:
            text = ""
        form = core.form_from_deployment(resolved.deployment, text)
        if not form:
            raise ServiceError(
                f"{resolved.provider.display_name} does not give back what this deployment "
                "runs; save a template from the create form instead (“Also save as template”)."
            )
        replaced = await self.store.save_template(
            team_id=actor.team_id,
            enterprise_id=actor.enterprise_id,
            name=name,
            provider=resolved.deployment.provider,
            form=form,
            created_by=actor.user_id,
        )
        verb = "Replaced" if replaced else "Saved"
        return Reply(
            text=f":white_check_mark: {verb} template `{name}` "
            f"({PROVIDER_LABEL[resolved.deployment.provider]}). "
            f"Use it: `/deploy create --template {name}`."
        )

    async def list_templates(self, actor: Actor) -> Reply:
        rows = await self.store.templates(team_id=actor.team_id, enterprise_id=actor.enterprise_id)
        return views.templates_reply(rows)

    async def delete_template(self, actor: Actor, name: str) -> Reply:
        removed = await self.store.delete_template(
            team_id=actor.team_id, enterprise_id=actor.enterprise_id, name=name
        )
        if not removed:
            raise NoMatchError(f"There is no template `{name}`: `/deploy template list`.")
        return Reply(text=f"Deleted template `{name}`.")

    async def template(self, actor: Actor, name: str) -> TemplateRow:
        row = await self.store.template(
            team_id=actor.team_id, enterprise_id=actor.enterprise_id, name=name
        )
        if row is None:
            raise NoMatchError(f"There is no template `{name}`: `/deploy template list`.")
        return row

    async def describe(self, request_id: str, bid_key: str | None = None) -> str:
        """What an approval request spends on: the full spec and the estimate (a create), or
        the chosen bid and its provider (a lease). Plain text: the caller escapes it."""
        row = await self._row(request_id)
        facts = CreateFacts(
            provider=row.provider,
            title=_title(row),
            spec=row.spec,
            estimate=core.Estimate.from_json(row.estimate),
            deployment_id=row.deployment_id,
            bids=row.bids,
            providers=row.result.get("providers") or {},
        )
        if bid_key is not None:
            return lease_summary(facts, bid_key, self.clock())
        return create_summary(facts, self.clock())

    # -- the status message -----------------------------------------------------------------------

    async def render(self, row: RequestRow) -> Reply:
        deployment: Deployment | None = None
        raw = row.result.get("deployment")
        if isinstance(raw, dict) and row.state in ("created", "leased"):
            try:
                deployment = Deployment.model_validate(raw)
            except ValueError:
                deployment = None
        allowed: frozenset[Capability] = frozenset()
        if deployment is not None:
            try:
                client = await self.deployments.client(_actor(row), row.provider)  # type: ignore[arg-type]
                allowed = client.available_actions(deployment)
            except (ServiceError, ProviderError):
                allowed = frozenset()
        reply = views.status_message(
            request_id=row.id,
            provider=row.provider,
            state=row.state,
            user_id=row.user_id,
            title=_title(row),
            deployment=deployment,
            deployment_id=row.deployment_id,
            bids=row.bids,
            providers=row.result.get("providers") or {},
            accepted=row.accepted_bid,
            error=row.error,
            allowed=allowed,
            now=self.clock(),
        )
        if row.error and row.state == "bidding" and reply.blocks is not None:
            reply.blocks.insert(
                1,
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": f":warning: {row.error[:500]}"}],
                },
            )
        return reply

    async def _publish(self, row: RequestRow) -> None:
        if self.publisher is None:
            return
        try:
            await self.publisher(row, await self.render(row))
        except Exception:
            log.warning("could not update the status message", exc_info=True)

    async def _fail(self, row: RequestRow, message: str) -> None:
        await self.store.transition(row.id, ["creating"], "failed", error=message)
        await self._publish(await self._row(row.id))

    async def _row(self, request_id: str) -> RequestRow:
        row = await self.store.get(request_id)
        if row is None:
            raise NoMatchError("That deployment request no longer exists: start again.")
        return row

    async def _own(self, actor: Actor, request_id: str, *, same_user: bool = False) -> RequestRow:
        row = await self._row(request_id)
        if row.team_id != actor.team_id or row.enterprise_id != (actor.enterprise_id or ""):
            raise NoMatchError("That deployment request is not from this workspace.")
        return row


def _title(row: RequestRow) -> str:
    name = row.spec.get("name") or row.form.get("name")
    if name:
        return str(name)
    image = row.form.get("image") or row.form.get("custom_image") or row.form.get("template_id")
    return str(image or f"{PROVIDER_LABEL.get(row.provider, row.provider)} deployment")


def _settled(deployment: Deployment, *, leased: bool) -> bool:
    if deployment.status in (
        DeploymentStatus.FAILED,
        DeploymentStatus.STOPPED,
        DeploymentStatus.ARCHIVED,
        DeploymentStatus.CLOSED,
        DeploymentStatus.INSUFFICIENT_FUNDS,
    ):
        return True
    if leased:  # a lease is settled once its services have URIs
        return bool(deployment.endpoints)
    return deployment.status is DeploymentStatus.RUNNING


__all__ = ["CreateService", "Publisher", "Review"]
