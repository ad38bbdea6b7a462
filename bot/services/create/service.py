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
from datetime import timedelta
from decimal import Decimal

from bot.core import create as core
from bot.core import create_views as views
from bot.core.preflight import Cleared, Refused
from bot.core.preflight_create import AcceptFacts, preflight_accept, preflight_create
from bot.db.create_store import RequestRow
from bot.providers.base import BaseProvider
from bot.providers.errors import ProviderError
from bot.providers.models import (
    Bid,
    Capability,
    CreateResult,
    Deployment,
    Market,
    ProviderName,
)
from bot.services.create.base import (
    REVIEW_BUDGET,
    Review,
    Spec,
    log,
)
from bot.services.create.leasing import LeaseFlow
from bot.services.create.status_message import actor_of
from bot.services.create.templates import TemplateOps
from bot.services.deployments import Actor
from bot.services.preflight import gather_create


class CreateService(LeaseFlow, TemplateOps):
    """The form, its review and the create; bids and leases (:class:`LeaseFlow`); templates
    (:class:`TemplateOps`)."""

    # -- the form ------------------------------------------------------------------------------

    async def options(self, actor: Actor, provider: str, query: str) -> list[Market]:
        """The type-ahead: catalog entries matching ``query`` (see ``core.filter_places``)."""
        items = await asyncio.wait_for(self.catalog(actor, provider), REVIEW_BUDGET)
        return core.filter_places(items or [], query)

    async def review(
        self,
        actor: Actor,
        provider: ProviderName,
        form: dict[str, str],
        submission_key: str,
        *,
        over_budget: bool = False,
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
            spec={
                **built.spec,
                "_summary": built.summary,
                # ``/deploy create --over-budget``: past a budget cap it asks for approval.
                **({"_over_budget": True} if over_budget else {}),
            },
            estimate=estimate.to_json(),
        )
        return Review(request=row, summary=built.summary, estimate=estimate, template_saved=saved)

    async def preflight(self, actor: Actor, request_id: str) -> Cleared | Refused:
        """Can this create succeed with what the account holds? (The balance: one read; the
        market or node comes from the form's cached catalog.)"""
        row = await self._own(actor, request_id)
        client = await self.client(actor_of(row), row.provider)  # type: ignore[arg-type]
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

    async def preflight_accept(
        self, actor: Actor, request_id: str, bid_key: str
    ) -> Cleared | Refused:
        """Can this bid be leased now? The deployment as Akash has it now (one read): still
        open and without a lease, the bid still open, and how long the escrow lasts at its
        price. When Akash can't be asked, the accept goes ahead (it checks again itself)."""
        row = await self._own(actor, request_id)
        bid = next((b for b in row.bids if views.bid_key(b) == bid_key), None)
        if bid is None:
            return Refused("That bid is no longer listed: use a button from the latest message.")
        client = await self.client(actor_of(row), row.provider)  # type: ignore[arg-type]
        try:
            deployment = await client.get(row.deployment_id or "")
        except ProviderError as exc:
            return Cleared(warnings=(f"The lease was not checked first: {exc.message}",))
        facts = AcceptFacts(
            deployment=deployment,
            bids=(Bid.model_validate(bid),),
            allowed=client.available_actions(deployment),
            now=self.clock(),
        )
        return preflight_accept(facts)

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
        client = await self.client(actor_of(row), row.provider)  # type: ignore[arg-type]
        spec = {k: v for k, v in row.spec.items() if not k.startswith("_")}
        try:
            result = await client.create(Spec(**spec))
        except ProviderError as exc:
            await self._fail(row, exc.message)
            return await self._row(request_id)
        except Exception:
            log.exception("create failed")
            await self._fail(row, "Something went wrong on our side; it has been logged.")
            return await self._row(request_id)
        return await self._created(row, client, result)

    async def _created(
        self, row: RequestRow, client: BaseProvider, result: CreateResult
    ) -> RequestRow:
        """The provider created the deployment: record it, then wait for bids or follow it."""
        request_id = row.id
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
            await self.wait_later("bids", request_id)
        else:
            await self.store.transition(
                request_id, ["creating"], "created", deployment_id=deployment.id, result=stored
            )
            await self._publish(await self._row(request_id))
            await self.created_hook(request_id)
            await self.wait_later("follow", request_id)
        return await self._row(request_id)

    async def reconciled(
        self, team_id: str, name: str, found: Deployment | None, note: str
    ) -> bool:
        """A create whose worker died mid-call was reconciled against the provider: adopt the
        deployment found (then follow it as usual), or end the request with ``note`` (it may or
        may not exist). False when no request of that name was being created."""
        rows = [
            r
            for r in await self.store.in_states(["creating"])
            if r.team_id == team_id and str(r.spec.get("name") or "") == name
        ]
        if len(rows) != 1:
            return False
        row = rows[0]
        if found is None:
            await self._fail(row, note)
            return True
        client = await self.client(actor_of(row), row.provider)  # type: ignore[arg-type]
        await self._created(row, client, CreateResult(deployment=found))
        return True
