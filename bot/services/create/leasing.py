"""Akash after the create: waiting for bids, leasing the chosen one, closing a deployment
without a lease; and following any new deployment until it settles."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.core import create_views as views
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
