"""Poll keys and their leases: one (workspace, provider) key per connected provider with a
watch or a budget cap, claimed by one replica at a time with a conditional update, released
after its poll.

Replicas also announce themselves here, so they can share a cycle's keys fairly: a **presence
row** per live replica (``provider`` = :data:`PRESENCE`, ``team_id`` = the replica's name,
``lease_until`` = until when it counts as alive), refreshed while it polls and deleted when it
stops. A replica claims at most ``ceil(keys / live replicas)`` keys per cycle, so the first one
to wake no longer takes every key. Presence rows are never poll keys: every query on keys
leaves them out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, or_, select, update

from bot.db.watch.store_base import (
    CAPS,
    CHUNK,
    KEYS,
    LEASES,
    WATCHES,
    SqlStore,
    sooner_due,
)
from bot.db.watch.store_records import (
    PollKey,
)
from bot.providers.models import PROVIDER_NAMES

#: The ``provider`` of a replica's presence row (no provider is named so).
PRESENCE = "~replica"
#: A presence row's ``team_id`` holds the replica's name, at most this long.
_NAME_MAX = 32


def presence_name(owner: str) -> str:
    """The replica's name as stored in its presence row (long names are digested)."""
    if len(owner) <= _NAME_MAX:
        return owner
    return "~" + hashlib.blake2b(owner.encode(), digest_size=15).hexdigest()


@dataclass(frozen=True)
class Presence:
    """What a replica learns when it announces itself."""

    #: Live replicas (this one included).
    replicas: int
    #: Poll keys in all.
    keys: int

    @property
    def share(self) -> int:
        """The most keys one replica claims in a cycle: ``ceil(keys / replicas)``."""
        return max(1, -(-self.keys // max(1, self.replicas)))


class PollLeaseStore(SqlStore):
    # -- poll keys and leases --------------------------------------------------------------

    async def sync_poll_keys(self, *, team_id: str | None = None) -> None:
        """Make the poll keys match the watches and budget caps: one per (workspace, connected
        provider) covered by a watch or a cap (a budget needs the burn the watcher records);
        keys nothing covers any more are deleted."""
        async with self.engine.begin() as conn:
            watch_q = select(
                WATCHES.c.enterprise_id, WATCHES.c.team_id, WATCHES.c.provider
            ).distinct()
            cap_q = select(CAPS.c.enterprise_id, CAPS.c.team_id, CAPS.c.provider).distinct()
            key_q = select(KEYS.c.enterprise_id, KEYS.c.team_id, KEYS.c.provider)
            lease_q = select(
                LEASES.c.id, LEASES.c.enterprise_id, LEASES.c.team_id, LEASES.c.provider
            ).where(LEASES.c.provider != PRESENCE)
            if team_id is not None:
                watch_q = watch_q.where(WATCHES.c.team_id == team_id)
                cap_q = cap_q.where(CAPS.c.team_id == team_id)
                key_q = key_q.where(KEYS.c.team_id == team_id)
                lease_q = lease_q.where(LEASES.c.team_id == team_id)
            connected: dict[tuple[str, str], set[str]] = {}
            for ent, team, provider in (await conn.execute(key_q)).all():
                if provider in PROVIDER_NAMES:
                    connected.setdefault((ent, team), set()).add(provider)
            wanted: set[tuple[str, str, str]] = set()
            covered = [*(await conn.execute(watch_q)).all(), *(await conn.execute(cap_q)).all()]
            for ent, team, provider in covered:
                for name in connected.get((ent, team), set()):
                    if not provider or provider == name:
                        wanted.add((ent, team, name))
            existing = {(e, t, p): i for i, e, t, p in (await conn.execute(lease_q)).all()}
            stale = [i for k, i in existing.items() if k not in wanted]
            if stale:
                await conn.execute(delete(LEASES).where(LEASES.c.id.in_(stale)))
            await self._insert_ignore(
                conn,
                LEASES,
                [
                    {"enterprise_id": e, "team_id": t, "provider": p, "next_due": 0.0}
                    for (e, t, p) in sorted(wanted - existing.keys())
                ],
            )

    async def claim_due_keys(
        self, owner: str, *, limit: int, lease_seconds: float, force: bool = False
    ) -> list[PollKey]:
        """Claim up to ``limit`` keys that are due and not leased (or whose lease expired)."""
        now = self.clock()
        free = or_(LEASES.c.lease_until.is_(None), LEASES.c.lease_until < now)
        due = and_(free, LEASES.c.provider != PRESENCE)
        if not force:
            due = and_(due, LEASES.c.next_due <= now)
        claimed: list[PollKey] = []
        async with self.engine.begin() as conn:
            query = select(
                LEASES.c.id,
                LEASES.c.enterprise_id,
                LEASES.c.team_id,
                LEASES.c.provider,
                LEASES.c.baselined,
            ).where(due)
            query = query.order_by(LEASES.c.next_due).limit(limit)
            if self.postgres:
                query = query.with_for_update(skip_locked=True)
            rows = {row.id: row for row in (await conn.execute(query)).all()}
            if not rows:
                return []
            # One conditional UPDATE claims them all; the rows it changed carry this stamp.
            # Their due time moves to the lease's end (when another replica may take over):
            # a ``poll_soon`` during the poll sets it back to 0, and the poll's release keeps
            # the sooner time (``sooner_due``), so that request is not lost.
            stamp = now + lease_seconds
            await conn.execute(
                update(LEASES)
                .where(LEASES.c.id.in_(list(rows)), free)
                .values(lease_owner=owner, lease_until=stamp, next_due=stamp)
            )
            mine = await conn.execute(
                select(LEASES.c.id).where(
                    LEASES.c.id.in_(list(rows)),
                    LEASES.c.lease_owner == owner,
                    LEASES.c.lease_until == stamp,
                )
            )
            for (row_id,) in mine.all():
                row = rows[row_id]
                claimed.append(
                    PollKey(row.id, row.enterprise_id, row.team_id, row.provider, row.baselined)
                )
        return claimed

    async def release_key(
        self, key: PollKey, owner: str, *, next_due: float, error: str | None
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(LEASES)
                .where(LEASES.c.id == key.id, LEASES.c.lease_owner == owner)
                .values(
                    lease_owner=None,
                    lease_until=None,
                    next_due=sooner_due(next_due),
                    last_error=error[:200] if error else None,
                )
            )

    async def poll_soon(self, team_id: str, enterprise_id: str | None, provider: str) -> None:
        """Make a key due now (after deploybot itself changed one of its deployments), even
        when a replica is polling it at this moment: that poll's release keeps this."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(LEASES)
                .where(
                    LEASES.c.team_id == team_id,
                    LEASES.c.enterprise_id == (enterprise_id or ""),
                    LEASES.c.provider == provider,
                )
                .values(next_due=0.0)
            )

    async def release_quiet(self, keys: Sequence[tuple[PollKey, float]], owner: str) -> None:
        """Release, in one statement per due time, the leases of keys polled without changes."""
        if not keys:
            return
        now = self.clock()
        by_due: dict[float, list[int]] = {}
        for key, next_due in keys:
            by_due.setdefault(next_due, []).append(key.id)
        async with self.engine.begin() as conn:
            for next_due, ids in by_due.items():
                for start in range(0, len(ids), CHUNK):
                    await conn.execute(
                        update(LEASES)
                        .where(
                            LEASES.c.id.in_(ids[start : start + CHUNK]),
                            LEASES.c.lease_owner == owner,
                        )
                        .values(
                            lease_owner=None,
                            lease_until=None,
                            next_due=sooner_due(next_due),
                            baselined=True,
                            last_polled_at=now,
                            last_error=None,
                        )
                    )

    # -- replicas --------------------------------------------------------------------------

    async def announce(self, owner: str, *, ttl: float) -> Presence:
        """Say this replica is alive for ``ttl`` seconds more; how many are, and how many
        keys there are to share. Presence rows expired long ago are deleted on the way."""
        now = self.clock()
        name = presence_name(owner)
        mine = and_(
            LEASES.c.provider == PRESENCE,
            LEASES.c.team_id == name,
            LEASES.c.enterprise_id == "",
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(LEASES).where(mine).values(lease_owner=name, lease_until=now + ttl)
            )
            if result.rowcount != 1:
                await self._insert_ignore(
                    conn,
                    LEASES,
                    [
                        {
                            "enterprise_id": "",
                            "team_id": name,
                            "provider": PRESENCE,
                            "next_due": 0.0,
                            "lease_owner": name,
                            "lease_until": now + ttl,
                        }
                    ],
                )
            await conn.execute(
                delete(LEASES).where(
                    LEASES.c.provider == PRESENCE, LEASES.c.lease_until < now - 10 * ttl
                )
            )
            live = await conn.scalar(
                select(func.count())
                .select_from(LEASES)
                .where(LEASES.c.provider == PRESENCE, LEASES.c.lease_until >= now)
            )
            keys = await conn.scalar(
                select(func.count()).select_from(LEASES).where(LEASES.c.provider != PRESENCE)
            )
        return Presence(replicas=max(1, int(live or 0)), keys=int(keys or 0))

    async def retire(self, owner: str) -> None:
        """This replica stops: the others stop counting it at once."""
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(LEASES).where(
                    LEASES.c.provider == PRESENCE,
                    LEASES.c.team_id == presence_name(owner),
                    LEASES.c.enterprise_id == "",
                )
            )
