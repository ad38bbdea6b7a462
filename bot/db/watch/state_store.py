"""Watched states: what one poll cycle reads (watches, thresholds, recent actions, last-known
states and fingerprints) and the one transaction that writes a poll's results."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Integer, and_, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db.loop_writer import LoopWriter, SqliteStatement, WriteLocked
from bot.db.watch.fingerprints import Fingerprints
from bot.db.watch.outbox_store import OUTBOX
from bot.db.watch.store_base import (
    ATTRIBUTIONS,
    CHUNK,
    LEASES,
    SETTINGS,
    STATES,
    WATCHES,
    SqlStore,
    sooner_due,
)
from bot.db.watch.store_records import (
    KEY_BITS,
    MARK_BITS,
    CycleContext,
    LostLease,
    OutboxRow,
    PollKey,
    Recent,
    StateRow,
    StateUpdate,
)
from bot.watch.attribution import Action, decode_effect
from bot.watch.diff import Known, Thresholds, decode_alerts

#: Stored fingerprints read per slice on SQLite's loop-thread reader (the loop runs other
#: work between slices: a slice of 2,000 rows takes about a millisecond).
PRINT_SLICE = 2_000

#: A key's stored fingerprints in deployment-id order: the first slice (the account's row, with
#: an empty id, included), then each after the last id read (the unique index on the key and
#: deployment id serves both).
_PRINTS = select(STATES.c.deployment_id, STATES.c.fingerprint, STATES.c.gone).where(
    STATES.c.enterprise_id == bindparam("ent"),
    STATES.c.team_id == bindparam("team"),
    STATES.c.provider == bindparam("provider"),
)
_PRINTS_FIRST = SqliteStatement.of(
    _PRINTS.order_by(STATES.c.deployment_id).limit(bindparam("n", type_=Integer))
)
_PRINTS_AFTER = SqliteStatement.of(
    _PRINTS.where(STATES.c.deployment_id > bindparam("after"))
    .order_by(STATES.c.deployment_id)
    .limit(bindparam("n", type_=Integer))
)


def _print_slice(params: dict[str, Any], conn: sqlite3.Connection) -> list[tuple[str, str, int]]:
    statement = _PRINTS_AFTER if "after" in params else _PRINTS_FIRST
    cursor = statement.run(params, conn)
    try:
        return cursor.fetchall()
    finally:
        cursor.close()


class StateStore(SqlStore):
    #: SQLite in a file: reads of many rows on the loop's thread (no thread hand-offs).
    reader: LoopWriter | None = None

    # -- what one poll reads ---------------------------------------------------------------

    async def cycle_context(self, keys: Sequence[PollKey], since: float) -> CycleContext:
        """Watches, thresholds and recent attributions of every claimed key's workspace, read
        in a few queries for the whole cycle (not a few per key)."""
        context = CycleContext()
        teams = sorted({k.team_id for k in keys})
        async with self.engine.connect() as conn:
            for start in range(0, len(teams), CHUNK // 4):
                chunk = teams[start : start + CHUNK // 4]
                for ent, team, provider, dep, channel in (
                    await conn.execute(
                        select(
                            WATCHES.c.enterprise_id,
                            WATCHES.c.team_id,
                            WATCHES.c.provider,
                            WATCHES.c.deployment_id,
                            WATCHES.c.channel_id,
                        ).where(WATCHES.c.team_id.in_(chunk))
                    )
                ).all():
                    context.watches.setdefault((ent, team), []).append((provider, dep, channel))
                for ent, team, runway, credits in (
                    await conn.execute(
                        select(
                            SETTINGS.c.enterprise_id,
                            SETTINGS.c.team_id,
                            SETTINGS.c.runway_hours,
                            SETTINGS.c.credits_usd,
                        ).where(SETTINGS.c.team_id.in_(chunk))
                    )
                ).all():
                    context.thresholds[(ent, team)] = Thresholds(float(runway), float(credits))
                await self._recent_actions(conn, chunk, since, context)
        return context

    async def _recent_actions(
        self, conn: AsyncConnection, teams: Sequence[str], since: float, context: CycleContext
    ) -> None:
        """The operations since ``since`` of these workspaces, with their state rows' times."""
        joined = ATTRIBUTIONS.outerjoin(
            STATES,
            and_(
                STATES.c.enterprise_id == ATTRIBUTIONS.c.enterprise_id,
                STATES.c.team_id == ATTRIBUTIONS.c.team_id,
                STATES.c.provider == ATTRIBUTIONS.c.provider,
                STATES.c.deployment_id == ATTRIBUTIONS.c.deployment_id,
            ),
        )
        result = await conn.execute(
            select(
                ATTRIBUTIONS.c.enterprise_id,
                ATTRIBUTIONS.c.team_id,
                ATTRIBUTIONS.c.provider,
                ATTRIBUTIONS.c.deployment_id,
                ATTRIBUTIONS.c.user_id,
                ATTRIBUTIONS.c.via,
                ATTRIBUTIONS.c.op_kind,
                ATTRIBUTIONS.c.expects,
                ATTRIBUTIONS.c.created_at,
                STATES.c.updated_at,
            )
            .select_from(joined)
            .where(ATTRIBUTIONS.c.team_id.in_(teams), ATTRIBUTIONS.c.created_at >= since)
            .order_by(ATTRIBUTIONS.c.created_at, ATTRIBUTIONS.c.id)
        )
        for ent, team, provider, dep, user, via, kind, expects, at, changed_at in result.all():
            effect = decode_effect(kind, expects)
            if effect is None:
                continue  # recorded before effects were (or an operation that changes nothing)
            recent = context.actions.setdefault((ent, team, provider), {}).setdefault(dep, Recent())
            recent.actions.append(Action(user, via, effect, float(at)))
            recent.state_changed_at = float(changed_at) if changed_at is not None else None

    async def fingerprints(self, key: PollKey) -> Fingerprints:
        """The key's last-known states, compactly: :func:`print_key` of the deployment id →
        :func:`print_mark` of its fingerprint (a state the provider no longer lists, gone, has
        the low bit set), in two flat arrays (:class:`Fingerprints`, about 24 bytes a
        deployment). Rows are read in slices, not held; on SQLite on the loop's thread."""
        if self.reader is not None:
            try:
                return await self._fingerprints_on_loop(self.reader, key)
            except WriteLocked:  # (rare under WAL) read the usual way
                pass
        prints = Fingerprints()
        async with self.engine.connect() as conn:
            result = await conn.stream(
                select(STATES.c.deployment_id, STATES.c.fingerprint, STATES.c.gone).where(
                    STATES.c.team_id == key.team_id,
                    STATES.c.enterprise_id == key.enterprise_id,
                    STATES.c.provider == key.provider,
                )
            )
            async for rows in result.partitions(CHUNK):
                _add_prints(prints, rows)
        return prints

    async def _fingerprints_on_loop(self, reader: LoopWriter, key: PollKey) -> Fingerprints:
        """Slices of :data:`PRINT_SLICE` rows in deployment-id order, each read on the loop's
        thread (tuples from the DB-API cursor), the loop free in between. A row written
        between two slices is read as it is then: at worst a walk normalizes an item again."""
        prints = Fingerprints()
        params: dict[str, Any] = {
            "ent": key.enterprise_id,
            "team": key.team_id,
            "provider": key.provider,
            "n": PRINT_SLICE,
        }
        while True:
            rows = reader.try_read_raw(lambda conn: _print_slice(params, conn))
            _add_prints(prints, rows)
            if len(rows) < params["n"]:
                return prints
            params["after"] = rows[-1][0]
            await asyncio.sleep(0)

    async def listed_ids(self, key: PollKey) -> list[str]:
        """The ids of the key's deployments not known to be gone (to name those a walk did
        not list: the compact fingerprints keep no ids)."""
        async with self.engine.connect() as conn:
            result = await conn.execute(
                select(STATES.c.deployment_id).where(
                    STATES.c.team_id == key.team_id,
                    STATES.c.enterprise_id == key.enterprise_id,
                    STATES.c.provider == key.provider,
                    STATES.c.gone.is_(False),
                )
            )
            return [row[0] for row in result.all()]

    async def known_states(
        self, key: PollKey, ids: Sequence[str] | None = None
    ) -> dict[str, tuple[int, Known]]:
        """deployment id → (row id, what is known), of all the key's deployments or ``ids``."""
        if ids is None:
            return await self._known_states(key, None)
        known: dict[str, tuple[int, Known]] = {}
        for start in range(0, len(ids), CHUNK // 4):
            known.update(await self._known_states(key, ids[start : start + CHUNK // 4]))
        return known

    async def _known_states(
        self, key: PollKey, ids: Sequence[str] | None
    ) -> dict[str, tuple[int, Known]]:
        where = [
            STATES.c.team_id == key.team_id,
            STATES.c.enterprise_id == key.enterprise_id,
            STATES.c.provider == key.provider,
        ]
        if ids is not None:
            where.append(STATES.c.deployment_id.in_(ids))
        async with self.engine.connect() as conn:
            result = await conn.execute(
                select(
                    STATES.c.id,
                    STATES.c.deployment_id,
                    STATES.c.status,
                    STATES.c.alerts,
                    STATES.c.seq,
                    STATES.c.name,
                    STATES.c.gone,
                ).where(*where)
            )
            cache: dict[str, frozenset[str]] = {}
            known: dict[str, tuple[int, Known]] = {}
            for row_id, dep_id, status, alerts, seq, name, gone in result.all():
                decoded = cache.get(alerts)
                if decoded is None:
                    decoded = cache[alerts] = decode_alerts(alerts)
                known[dep_id] = (row_id, Known(status, decoded, seq, name, bool(gone)))
            return known

    # -- what one poll writes --------------------------------------------------------------

    async def commit_poll(
        self,
        key: PollKey,
        owner: str,
        *,
        next_due: float,
        new_states: Iterable[StateRow],
        updates: Iterable[StateUpdate],
        outbox: Iterable[OutboxRow],
    ) -> None:
        """Record one poll in one transaction; raises LostLease when another replica owns the
        key now or recorded the same changes first (nothing is written then)."""
        now = self.clock()
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(LEASES)
                .where(LEASES.c.id == key.id, LEASES.c.lease_owner == owner)
                .values(
                    lease_owner=None,
                    lease_until=None,
                    next_due=sooner_due(next_due),
                    baselined=True,
                    last_polled_at=now,
                    last_error=None,
                )
            )
            if result.rowcount != 1:
                raise LostLease(key.provider)
            await self._write_poll(
                conn, key=key, now=now, new_states=new_states, updates=updates, outbox=outbox
            )

    async def record_part(
        self,
        key: PollKey,
        owner: str,
        *,
        new_states: Iterable[StateRow],
        updates: Iterable[StateUpdate],
        outbox: Iterable[OutboxRow],
    ) -> None:
        """Record part of a poll in progress, in one transaction, keeping the lease (the walk
        goes on); raises LostLease like :meth:`commit_poll`."""
        async with self.engine.begin() as conn:
            # Touch the lease row (and, on PostgreSQL, lock it until this commits): it must
            # still be this replica's.
            result = await conn.execute(
                update(LEASES)
                .where(LEASES.c.id == key.id, LEASES.c.lease_owner == owner)
                .values(lease_owner=owner)
            )
            if result.rowcount != 1:
                raise LostLease(key.provider)
            await self._write_poll(
                conn,
                key=key,
                now=self.clock(),
                new_states=new_states,
                updates=updates,
                outbox=outbox,
            )

    async def _write_poll(
        self,
        conn: AsyncConnection,
        *,
        key: PollKey,
        now: float,
        new_states: Iterable[StateRow],
        updates: Iterable[StateUpdate],
        outbox: Iterable[OutboxRow],
    ) -> None:
        base = {"enterprise_id": key.enterprise_id, "team_id": key.team_id}
        new_states = list(new_states)
        for start in range(0, len(new_states), CHUNK):
            rows = [
                {
                    **base,
                    "provider": key.provider,
                    "deployment_id": s.deployment_id,
                    "name": s.name[:200],
                    "status": s.status,
                    "alerts": s.alerts,
                    "seq": 0,
                    "gone": s.gone,
                    "fingerprint": s.fingerprint,
                    "cost_per_hour": s.cost,
                    "updated_at": now,
                }
                for s in new_states[start : start + CHUNK]
            ]
            try:
                await conn.execute(insert(STATES), rows)
            except IntegrityError:
                raise LostLease(key.provider) from None
        for u in updates:
            result = await conn.execute(
                update(STATES)
                .where(
                    STATES.c.team_id == key.team_id,
                    STATES.c.enterprise_id == key.enterprise_id,
                    STATES.c.provider == key.provider,
                    STATES.c.deployment_id == u.deployment_id,
                    STATES.c.seq == u.expected_seq,
                )
                .values(
                    name=u.name[:200],
                    status=u.status,
                    alerts=u.alerts,
                    gone=u.gone,
                    fingerprint=u.fingerprint,
                    cost_per_hour=u.cost,
                    seq=u.expected_seq + 1,
                    **({"updated_at": now} if u.touch else {}),
                )
            )
            if result.rowcount != 1:
                raise LostLease(key.provider)
        out = [
            {
                **base,
                "provider": key.provider,
                "deployment_id": o.deployment_id,
                "channel_id": o.channel_id,
                "seq": o.seq,
                "text": o.text,
                "reply_blocks": o.reply_blocks,
                "card": o.card,
                "state": "pending",
                "attempts": 0,
                "not_before": now,
                "created_at": now,
            }
            for o in outbox
        ]
        if out:
            try:
                await conn.execute(insert(OUTBOX), out)
            except IntegrityError:
                raise LostLease(key.provider) from None


def _add_prints(prints: Fingerprints, rows: Iterable[Sequence[object]]) -> None:
    prints.extend(
        [
            (hash(dep_id) & KEY_BITS, (hash(fp) & MARK_BITS) | (1 if gone else 0))
            for dep_id, fp, gone in rows
        ]
    )
