"""Creating deployments, the shared part: settings, the request row, the clients, the catalogs
used by the form, and publishing the status message."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.background import BackgroundWork
from bot.config import Settings
from bot.core import create as core
from bot.core import create_views as views
from bot.db.create_store import CreateStore, RequestRow
from bot.providers.base import BaseProvider
from bot.providers.models import (
    Bid,
    Capability,
    Market,
    ProviderName,
)
from bot.services.create.status_message import status_of
from bot.services.deployments import Actor, DeploymentService
from bot.services.errors import NoMatchError, UnsupportedError

log = logging.getLogger("bot.services.create")

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

Publisher = Callable[[RequestRow, views.Status], Awaitable[None]]


class Spec(BaseModel):
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


def bid_json(bid: Bid) -> dict[str, Any]:
    return bid.model_dump(mode="json")


class CreateBase:
    """What every part of creating shares: the request store, the workspace's clients, the
    status message."""

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
        #: Where the long waits go (``kind`` "bids" or "follow", the request id): durable jobs
        #: when the app sets it; None runs them as background tasks of this process.
        self.later: Callable[[str, str], Awaitable[None]] | None = None
        #: Told of each bid accepted automatically (the request, the bid): its audit row.
        self.on_auto_accept: Callable[[RequestRow, str], Awaitable[None]] | None = None
        #: Told once a new deployment is created (leased, on Akash): files its "Stop after"
        #: timer (set by the app). Its failures never fail the create.
        self.on_created: Callable[[RequestRow], Awaitable[None]] | None = None
        self._catalogs: dict[tuple[str, str, str], tuple[float, list[Market]]] = {}
        self._provider_info: dict[str, tuple[float, dict[str, Any]]] = {}

    async def created_hook(self, request_id: str) -> None:
        if self.on_created is None:
            return
        row = await self.store.get(request_id)
        if row is None:
            return
        try:
            await self.on_created(row)
        except Exception:
            log.exception("after-create work failed (request %s)", request_id)

    async def wait_later(self, kind: str, request_id: str) -> None:
        """Wait for bids (``kind="bids"``) or follow the new deployment (``"follow"``)."""
        if self.later is not None:
            await self.later(kind, request_id)
            return
        waits = {"bids": self.wait_for_bids, "follow": self.follow}
        self.work.spawn(waits[kind](request_id), name=f"{kind}:{request_id}")

    async def wait_for_bids(self, request_id: str) -> None:
        raise NotImplementedError

    async def follow(self, request_id: str) -> None:
        raise NotImplementedError

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

    # -- the status message -----------------------------------------------------------------------

    async def status(self, row: RequestRow) -> views.Status:
        return await status_of(row, self.deployments, self.clock())

    async def _publish(self, row: RequestRow) -> None:
        if self.publisher is None:
            return
        try:
            await self.publisher(row, await self.status(row))
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
