"""The watcher's SQL: watches, thresholds, last-known states, the outbox, leases, attributions.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db.models import (
    ChangeAttribution,
    PollLease,
    ProviderKey,
    Watch,
    WatchedState,
    WatchSettings,
)
from bot.providers.models import PROVIDER_NAMES
from bot.watch.attribution import Action, decode_effect
from bot.watch.diff import Known, Thresholds, channels_for, decode_alerts
from bot.watch.outbox_store import CHANNELS, CHUNK, MESSAGES, OUTBOX, OutboxStore

WATCHES: Table = Watch.__table__  # type: ignore[assignment]
SETTINGS: Table = WatchSettings.__table__  # type: ignore[assignment]
STATES: Table = WatchedState.__table__  # type: ignore[assignment]
LEASES: Table = PollLease.__table__  # type: ignore[assignment]
ATTRIBUTIONS: Table = ChangeAttribution.__table__  # type: ignore[assignment]
KEYS: Table = ProviderKey.__table__  # type: ignore[assignment]

#: Prefix of a gone state's fingerprint in ``WatchStore.fingerprints``.
GONE = "!"

Clock = Callable[[], float]


@dataclass(frozen=True)
class PollKey:
    id: int
    enterprise_id: str
    team_id: str
    provider: str
    baselined: bool


@dataclass(frozen=True, slots=True)
class StateRow:
    deployment_id: str
    name: str
    status: str
    alerts: str
    gone: bool = False
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class StateUpdate:
    deployment_id: str
    expected_seq: int
    name: str
    status: str
    alerts: str
    gone: bool
    fingerprint: str = ""
    #: False when only the fingerprint moved (the state's change time stays).
    touch: bool = True


@dataclass(frozen=True, slots=True)
class OutboxRow:
    deployment_id: str
    channel_id: str
    seq: int
    text: str
    reply_blocks: str | None
    card: str | None


@dataclass
class Recent:
    """A deployment's recent deploybot operations and when its state row last changed."""

    actions: list[Action] = field(default_factory=list)
    state_changed_at: float | None = None


@dataclass
class CycleContext:
    """What a poll cycle reads once for all its keys (see ``WatchStore.cycle_context``)."""

    watches: dict[tuple[str, str], list[tuple[str, str, str]]] = field(default_factory=dict)
    thresholds: dict[tuple[str, str], Thresholds] = field(default_factory=dict)
    #: Operations deploybot executed recently, per key and deployment, with when the
    #: deployment's state row last changed (None: no row yet).
    actions: dict[tuple[str, str, str], dict[str, Recent]] = field(default_factory=dict)
    #: Keys polled without anything to write: their leases are released together.
    quiet: list[tuple[PollKey, float]] = field(default_factory=list)
    #: The keys whose quiet leases this cycle releases (others commit on their own).
    batch: set[PollKey] = field(default_factory=set)

    def for_key(
        self, key: PollKey
    ) -> tuple[list[tuple[str, str, str]], Thresholds, dict[str, Recent]]:
        team = (key.enterprise_id, key.team_id)
        watches = [w for w in self.watches.get(team, []) if not w[0] or w[0] == key.provider]
        return (
            watches,
            self.thresholds.get(team, Thresholds()),
            self.actions.get((*team, key.provider), {}),
        )


class LostLease(Exception):
    """Another replica took the poll lease over (this one was too slow): its results stand."""


class WatchStore(OutboxStore):
    def __init__(self, engine: AsyncEngine, *, clock: Clock = time.time) -> None:
        self.engine = engine
        self.clock = clock
        self.postgres = engine.dialect.name == "postgresql"

    # -- watches ---------------------------------------------------------------------------

    async def add_watch(
        self,
        *,
        team_id: str,
        enterprise_id: str | None,
        provider: str,
        deployment_id: str,
        label: str,
        channel_id: str,
        user_id: str,
    ) -> bool:
        """Watch (idempotent); True when the watch is new."""
        row = {
            "enterprise_id": enterprise_id or "",
            "team_id": team_id,
            "provider": provider,
            "deployment_id": deployment_id,
            "label": label[:200],
            "channel_id": channel_id,
            "created_by": user_id,
            "created_at": self.clock(),
        }
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(WATCHES), [row])
        except IntegrityError:
            return False
        await self.sync_poll_keys(team_id=team_id)
        return True

    async def remove_watches(
        self,
        *,
        team_id: str,
        enterprise_id: str | None,
        channel_id: str,
        provider: str | None,
        deployment_id: str | None,
    ) -> int:
        """Unwatch: exactly that watch, or with ``provider``/``deployment_id`` None, every
        watch of the channel (``unwatch all``)."""
        conditions = [
            WATCHES.c.team_id == team_id,
            WATCHES.c.enterprise_id == (enterprise_id or ""),
            WATCHES.c.channel_id == channel_id,
        ]
        if provider is not None:
            conditions.append(WATCHES.c.provider == provider)
        if deployment_id is not None:
            conditions.append(WATCHES.c.deployment_id == deployment_id)
        ent = enterprise_id or ""
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(WATCHES).where(and_(*conditions)))
            # What was waiting to be posted there and no watch covers any more is not posted.
            left = [
                tuple(r)
                for r in (
                    await conn.execute(
                        select(
                            WATCHES.c.provider, WATCHES.c.deployment_id, WATCHES.c.channel_id
                        ).where(
                            WATCHES.c.team_id == team_id,
                            WATCHES.c.enterprise_id == ent,
                            WATCHES.c.channel_id == channel_id,
                        )
                    )
                ).all()
            ]
            pending = (
                await conn.execute(
                    select(OUTBOX.c.id, OUTBOX.c.provider, OUTBOX.c.deployment_id).where(
                        OUTBOX.c.team_id == team_id,
                        OUTBOX.c.enterprise_id == ent,
                        OUTBOX.c.channel_id == channel_id,
                        OUTBOX.c.state == "pending",
                    )
                )
            ).all()
            orphans = [
                row_id
                for row_id, provider_, dep in pending
                if not channels_for(left, provider_, dep)
            ]
            if orphans:
                await conn.execute(delete(OUTBOX).where(OUTBOX.c.id.in_(orphans)))
        await self.sync_poll_keys(team_id=team_id)
        return int(result.rowcount or 0)

    async def list_watches(self, *, team_id: str, enterprise_id: str | None) -> list[Any]:
        async with self.engine.connect() as conn:
            result = await conn.execute(
                select(WATCHES)
                .where(
                    WATCHES.c.team_id == team_id,
                    WATCHES.c.enterprise_id == (enterprise_id or ""),
                )
                .order_by(WATCHES.c.channel_id, WATCHES.c.provider, WATCHES.c.deployment_id)
            )
            return list(result.all())

    async def forget_workspace(self, team_id: str, enterprise_id: str | None) -> None:
        """Delete every watcher row of a workspace (after an uninstall)."""
        ent = enterprise_id or ""
        async with self.engine.begin() as conn:
            for table in (
                WATCHES,
                SETTINGS,
                STATES,
                OUTBOX,
                MESSAGES,
                CHANNELS,
                LEASES,
                ATTRIBUTIONS,
            ):
                await conn.execute(
                    delete(table).where(table.c.team_id == team_id, table.c.enterprise_id == ent)
                )

    # -- thresholds ------------------------------------------------------------------------

    async def thresholds(self, team_id: str, enterprise_id: str | None) -> Thresholds:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(SETTINGS.c.runway_hours, SETTINGS.c.credits_usd).where(
                        SETTINGS.c.team_id == team_id,
                        SETTINGS.c.enterprise_id == (enterprise_id or ""),
                    )
                )
            ).first()
        if row is None:
            return Thresholds()
        return Thresholds(runway_hours=float(row[0]), credits_usd=float(row[1]))

    async def set_thresholds(
        self,
        *,
        team_id: str,
        enterprise_id: str | None,
        user_id: str,
        runway_hours: float | None = None,
        credits_usd: float | None = None,
    ) -> Thresholds:
        current = await self.thresholds(team_id, enterprise_id)
        new = Thresholds(
            runway_hours=current.runway_hours if runway_hours is None else runway_hours,
            credits_usd=current.credits_usd if credits_usd is None else credits_usd,
        )
        values = {
            "runway_hours": new.runway_hours,
            "credits_usd": new.credits_usd,
            "updated_by": user_id,
            "updated_at": self.clock(),
        }
        where = and_(
            SETTINGS.c.team_id == team_id, SETTINGS.c.enterprise_id == (enterprise_id or "")
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(update(SETTINGS).where(where).values(**values))
            if not result.rowcount:
                await self._insert_ignore(
                    conn,
                    SETTINGS,
                    [{"team_id": team_id, "enterprise_id": enterprise_id or "", **values}],
                )
                await conn.execute(update(SETTINGS).where(where).values(**values))
        return new

    # -- poll keys and leases --------------------------------------------------------------

    async def sync_poll_keys(self, *, team_id: str | None = None) -> None:
        """Make the poll keys match the watches: one per (workspace, connected provider)
        covered by a watch; keys nobody watches any more are deleted."""
        async with self.engine.begin() as conn:
            watch_q = select(
                WATCHES.c.enterprise_id, WATCHES.c.team_id, WATCHES.c.provider
            ).distinct()
            key_q = select(KEYS.c.enterprise_id, KEYS.c.team_id, KEYS.c.provider)
            lease_q = select(
                LEASES.c.id, LEASES.c.enterprise_id, LEASES.c.team_id, LEASES.c.provider
            )
            if team_id is not None:
                watch_q = watch_q.where(WATCHES.c.team_id == team_id)
                key_q = key_q.where(KEYS.c.team_id == team_id)
                lease_q = lease_q.where(LEASES.c.team_id == team_id)
            connected: dict[tuple[str, str], set[str]] = {}
            for ent, team, provider in (await conn.execute(key_q)).all():
                if provider in PROVIDER_NAMES:
                    connected.setdefault((ent, team), set()).add(provider)
            wanted: set[tuple[str, str, str]] = set()
            for ent, team, provider in (await conn.execute(watch_q)).all():
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
        due = free if force else and_(free, LEASES.c.next_due <= now)
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
            stamp = now + lease_seconds
            await conn.execute(
                update(LEASES)
                .where(LEASES.c.id.in_(list(rows)), free)
                .values(lease_owner=owner, lease_until=stamp)
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
                    next_due=next_due,
                    last_error=error[:200] if error else None,
                )
            )

    async def poll_soon(self, team_id: str, enterprise_id: str | None, provider: str) -> None:
        """Make a key due now (after deploybot itself changed one of its deployments)."""
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

    async def fingerprints(self, key: PollKey) -> dict[str, str]:
        """deployment id → fingerprint of the key's last-known states, compactly: a state the
        provider no longer lists (gone) has its fingerprint prefixed with ``GONE``, so it never
        equals a listed item's. Rows are streamed, not held."""
        prints: dict[str, str] = {}
        async with self.engine.connect() as conn:
            result = await conn.stream(
                select(STATES.c.deployment_id, STATES.c.fingerprint, STATES.c.gone).where(
                    STATES.c.team_id == key.team_id,
                    STATES.c.enterprise_id == key.enterprise_id,
                    STATES.c.provider == key.provider,
                )
            )
            async for rows in result.partitions(CHUNK):
                for dep_id, fp, gone in rows:
                    prints[dep_id] = GONE + fp if gone else fp
        return prints

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
                            next_due=next_due,
                            baselined=True,
                            last_polled_at=now,
                            last_error=None,
                        )
                    )

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
        base = {"enterprise_id": key.enterprise_id, "team_id": key.team_id}
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(LEASES)
                .where(LEASES.c.id == key.id, LEASES.c.lease_owner == owner)
                .values(
                    lease_owner=None,
                    lease_until=None,
                    next_due=next_due,
                    baselined=True,
                    last_polled_at=now,
                    last_error=None,
                )
            )
            if result.rowcount != 1:
                raise LostLease(key.provider)
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

    # -- attributions and recent actions ---------------------------------------------------

    async def record_attribution(
        self,
        *,
        team_id: str,
        enterprise_id: str | None,
        provider: str,
        deployment_id: str,
        user_id: str,
        via: str,
        summary: str,
        op_kind: str = "",
        expects: str = "",
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(ATTRIBUTIONS),
                [
                    {
                        "enterprise_id": enterprise_id or "",
                        "team_id": team_id,
                        "provider": provider,
                        "deployment_id": deployment_id,
                        "user_id": user_id,
                        "via": via[:64],
                        "summary": summary[:200],
                        "op_kind": op_kind[:16],
                        "expects": expects[:200],
                        "created_at": self.clock(),
                    }
                ],
            )

    async def recent_actions(
        self, *, team_id: str, enterprise_id: str | None, user_id: str, limit: int = 5
    ) -> list[Any]:
        async with self.engine.connect() as conn:
            result = await conn.execute(
                select(
                    ATTRIBUTIONS.c.provider,
                    ATTRIBUTIONS.c.deployment_id,
                    ATTRIBUTIONS.c.summary,
                    ATTRIBUTIONS.c.created_at,
                )
                .where(
                    ATTRIBUTIONS.c.team_id == team_id,
                    ATTRIBUTIONS.c.enterprise_id == (enterprise_id or ""),
                    ATTRIBUTIONS.c.user_id == user_id,
                )
                .order_by(ATTRIBUTIONS.c.created_at.desc(), ATTRIBUTIONS.c.id.desc())
                .limit(limit)
            )
            return list(result.all())

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
