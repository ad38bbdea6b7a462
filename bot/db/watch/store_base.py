"""What the watcher's store modules share: the engine and clock, the watcher's tables, an
insert that skips rows already there (both dialects), and the due time a poll leaves behind."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, case, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db.models import (
    BudgetCap,
    ChangeAttribution,
    PollLease,
    ProviderKey,
    Watch,
    WatchedState,
    WatchSettings,
)

WATCHES: Table = Watch.__table__  # type: ignore[assignment]
SETTINGS: Table = WatchSettings.__table__  # type: ignore[assignment]
STATES: Table = WatchedState.__table__  # type: ignore[assignment]
LEASES: Table = PollLease.__table__  # type: ignore[assignment]
ATTRIBUTIONS: Table = ChangeAttribution.__table__  # type: ignore[assignment]
KEYS: Table = ProviderKey.__table__  # type: ignore[assignment]
CAPS: Table = BudgetCap.__table__  # type: ignore[assignment]


def sooner_due(proposed: float) -> ColumnElement[float]:
    """The ``next_due`` a poll leaves behind: ``proposed``, or the key's stored due time when
    that is sooner. A claim sets ``next_due`` to the lease's end, so a stored time sooner than
    that means :meth:`~bot.db.watch.lease_store.PollLeaseStore.poll_soon` asked for a poll while
    this one was under way (deploybot changed a deployment mid-walk): the key stays due then,
    instead of waiting a whole interval and missing the change's first state."""
    return case((LEASES.c.next_due < proposed, LEASES.c.next_due), else_=literal(proposed))


#: Rows per INSERT statement (a large baseline is recorded in chunks).
CHUNK = 2000


class SqlStore:
    engine: AsyncEngine
    clock: Callable[[], float]
    postgres: bool

    async def _insert_ignore(
        self, conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]
    ) -> None:
        if not rows:
            return
        dialect = postgresql if self.postgres else sqlite
        for start in range(0, len(rows), CHUNK):
            stmt = dialect.insert(table).on_conflict_do_nothing()
            await conn.execute(stmt, list(rows[start : start + CHUNK]))
