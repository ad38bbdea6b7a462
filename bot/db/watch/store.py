"""The watcher's SQL: watches, thresholds, last-known states, the outbox, leases, attributions.

:class:`WatchStore` joins the parts, one module each: ``subscription_store`` (watches and
thresholds), ``lease_store`` (poll keys and their leases), ``state_store`` (what a poll reads
and writes), ``attribution_store`` (who changed what), ``outbox_store`` (notifications and
channel leases); ``store_records`` holds the records they exchange.

Everything several replicas must agree on is a row here. Exactly-once comes from:

* **poll leases**: a (workspace, provider) key is claimed with a conditional ``UPDATE … WHERE
  lease expired`` (``FOR UPDATE SKIP LOCKED`` first on PostgreSQL, so replicas skip each other's
  rows instead of queueing); a poll's results are written in one transaction that also
  releases the lease, only if it still holds it;
* **state sequence numbers**: a changed state row is updated ``WHERE seq = <seq read>``, and
  every outbox row's unique key includes that sequence, so two pollers that somehow computed
  the same change cannot both record it (the second transaction rolls back);
* **channel leases**: one replica at a time delivers a channel's outbox, and marks each row
  ``sent`` with a conditional update.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.loop_writer import LoopWriter
from bot.db.watch.attribution_store import AttributionStore
from bot.db.watch.outbox_store import OUTBOX, OutboxStore
from bot.db.watch.state_store import StateStore
from bot.db.watch.store_base import ATTRIBUTIONS
from bot.db.watch.store_records import (
    GONE,
    Clock,
    CycleContext,
    LostLease,
    OutboxRow,
    PollKey,
    Recent,
    StateRow,
    StateUpdate,
)
from bot.db.watch.subscription_store import SubscriptionStore


class WatchStore(SubscriptionStore, StateStore, AttributionStore, OutboxStore):
    def __init__(
        self, engine: AsyncEngine, *, clock: Clock = time.time, reader: LoopWriter | None = None
    ) -> None:
        self.engine = engine
        #: SQLite in a file: the loop-thread connection reads a key's fingerprints.
        self.reader = reader
        self.clock = clock
        self.postgres = engine.dialect.name == "postgresql"

    # -- retention -------------------------------------------------------------------------

    async def prune(self, *, sent_before: float, attributed_before: float) -> int:
        """Delete delivered (or dropped) notifications and old attributions; rows deleted."""
        async with self.engine.begin() as conn:
            sent = await conn.execute(
                delete(OUTBOX).where(
                    OUTBOX.c.state.in_(("sent", "dropped")), OUTBOX.c.created_at < sent_before
                )
            )
            old = await conn.execute(
                delete(ATTRIBUTIONS).where(ATTRIBUTIONS.c.created_at < attributed_before)
            )
        return int(sent.rowcount or 0) + int(old.rowcount or 0)


__all__: Sequence[str] = (
    "GONE",
    "Clock",
    "CycleContext",
    "LostLease",
    "OutboxRow",
    "PollKey",
    "Recent",
    "StateRow",
    "StateUpdate",
    "WatchStore",
)
