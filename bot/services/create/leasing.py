"""Akash after the create: waiting for bids, leasing the chosen one, closing a deployment
without a lease; and following any new deployment until it settles."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from bot.core import create_views as views
from bot.core.create import auto_accept
from bot.db.create_store import RequestRow
from bot.providers.base import BaseProvider
from bot.providers.errors import ProviderError
from bot.providers.models import (
    Bid,
    Deployment,
    DeploymentStatus,
)
from bot.services.create.base import (
    DRAFT_TTL,
    INTERRUPTED_AFTER,
    QUIET_POLLS,
    CreateBase,
    bid_json,
    log,
)
from bot.services.create.status_message import actor_of
from bot.services.deployments import Actor
from bot.services.errors import NoMatchError, ServiceError


class LeaseFlow(CreateBase):
    """After the create: Akash bids and the lease (a spend), closing without a lease,
    following the new deployment, and resuming all of it at start-up."""

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
            client = await self.client(actor_of(row), row.provider)  # type: ignore[arg-type]
            try:
                bids = await client.bids(row.deployment_id)
            except ProviderError as exc:
                log.info("bids unavailable: %s", exc.message)
                bids = None
            if bids is not None:
                known = {views.bid_key(b) for b in row.bids if b.get("state") == "open"}
                fresh = [bid_json(b) for b in bids]
                open_now = {views.bid_key(b) for b in fresh if b.get("state") == "open"}
                if open_now != known or len(fresh) != len(row.bids):
                    quiet = 0
                    await self._lookup_providers(client, fresh, row)
                    await self.store.set(request_id, bids=fresh)
                    await self._publish(await self._row(request_id))
                elif open_now:
                    quiet += 1
                if await self._auto_accept(request_id):
                    return
                if open_now and quiet >= QUIET_POLLS and not _auto(row):
                    return
            deadline = _auto_deadline(await self._row(request_id), row.bid_deadline or self.clock())
            if self.clock() >= deadline:
                # an automatic accept's seconds may have ended since it last looked (between
                # its clock and this one): it gets its turn before the wait gives up
                if await self._auto_accept(request_id):
                    return
                row = await self._row(request_id)
                no_open_bids = not any(b.get("state") == "open" for b in row.bids)
                if no_open_bids and await self.store.transition(request_id, ["bidding"], "no_bids"):
                    await self._publish(await self._row(request_id))
                return
            await asyncio.sleep(self.poll_interval)

    async def current_bids(self, actor: Actor, deployment_id: str) -> RequestRow:
        """``/deploy bids <dseq>``: the bids of a deployment deploybot created, fetched again
        from the provider (with who bids) and kept on its request."""
        dseq = deployment_id.strip()
        row = await self.store.by_deployment(actor.team_id, actor.enterprise_id, "akash", dseq)
        if row is None:
            raise NoMatchError(
                f"deploybot didn't create an Akash deployment `{dseq}` in this workspace, so it "
                "has no bids to show (`/deploy list akash` lists the deployments)."
            )
        if row.state not in ("bidding", "no_bids"):
            return row
        client = await self.client(actor_of(row), "akash")
        fresh = [bid_json(b) for b in await client.bids(dseq)]
        await self._lookup_providers(client, fresh, row)
        await self.store.set(row.id, bids=fresh)
        if any(b.get("state") == "open" for b in fresh):  # bids again: Accept works again
            await self.store.transition(row.id, ["no_bids"], "bidding")
        return await self._row(row.id)

    async def _auto_accept(self, request_id: str) -> bool:
        """ "Accept automatically": once its seconds of bidding have passed, lease the cheapest
        eligible bid (the policy decided this spend when the create was submitted). True when
        it leased one."""
        row = await self._row(request_id)
        rule = _auto(row)
        if rule is None or row.state != "bidding":
            return False
        now = self.clock().timestamp()
        since = row.result.get("bidding_since")
        if not isinstance(since, int | float):
            since = now
            await self.store.set(request_id, result={**row.result, "bidding_since": since})
        if now < since + rule.after:
            return False
        choice = auto_accept.choose(rule, row.bids, row.result.get("providers") or {})
        if choice.chosen is None:
            return False
        key = views.bid_key(choice.chosen)
        row = await self._row(request_id)
        picked = {
            "bid": dict(choice.chosen),
            "passed": [{"bid": dict(p.bid), "why": p.why} for p in choice.passed],
        }
        await self.store.set(request_id, result={**row.result, "auto": picked})
        try:
            await self.accept_bid(actor_of(row), request_id, key)
        except (ServiceError, ProviderError) as exc:
            log.info("automatic accept failed: %s", exc.message)
            return False
        if self.on_auto_accept is not None:
            await self.on_auto_accept(row, key)
        return True

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
        client = await self.client(actor_of(row), row.provider)  # type: ignore[arg-type]
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
        await self.created_hook(request_id)
        await self.wait_later("follow", request_id)
        return row

    async def close(self, actor: Actor, request_id: str) -> RequestRow:
        """Close a deployment that has no lease yet (refunds the deposit)."""
        row = await self._own(actor, request_id, same_user=False)
        if not await self.store.transition(request_id, ["bidding", "no_bids"], "closing"):
            return row
        client = await self.client(actor_of(row), row.provider)  # type: ignore[arg-type]
        try:
            await client.close(row.deployment_id or "")
        except ProviderError:
            await self.store.transition(request_id, ["closing"], row.state)
            raise
        await self.store.transition(request_id, ["closing"], "closed")
        row = await self._row(request_id)
        await self._publish(row)
        return row

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
            client = await self.client(actor_of(row), row.provider)  # type: ignore[arg-type]
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
            await self.wait_later("bids", row.id)
            count += 1
        return count


def _auto_deadline(row: RequestRow, deadline: datetime) -> datetime:
    """An automatic accept waits its seconds of bidding even past the bid timeout."""
    rule = _auto(row)
    since = row.result.get("bidding_since")
    if rule is None or row.state != "bidding" or not isinstance(since, int | float):
        return deadline
    return max(deadline, datetime.fromtimestamp(since + rule.after, UTC))


def _auto(row: RequestRow) -> auto_accept.Rule | None:
    return auto_accept.Rule.from_json(row.spec.get("_auto_accept"))


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
