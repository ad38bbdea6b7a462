"""The watcher's outbox SQL: pending notifications, per-channel leases and pacing, and the
``ts`` of each deployment's message in each channel (``WatchStore`` inherits these).

One replica at a time delivers a channel's outbox (a channel lease), and marks each row
``sent`` with a conditional update.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, func, or_, select, update

from bot.db.models import DeploymentMessage, NotificationChannel, NotificationOutbox
from bot.db.watch.store_base import SqlStore

OUTBOX: Table = NotificationOutbox.__table__  # type: ignore[assignment]
MESSAGES: Table = DeploymentMessage.__table__  # type: ignore[assignment]
CHANNELS: Table = NotificationChannel.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Pending:
    id: int
    enterprise_id: str
    team_id: str
    provider: str
    deployment_id: str
    channel_id: str
    seq: int
    text: str
    reply_blocks: str | None
    card: str | None
    attempts: int


class OutboxStore(SqlStore):
    # -- the outbox ------------------------------------------------------------------------

    async def outbox_depth(self) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                select(func.count()).select_from(OUTBOX).where(OUTBOX.c.state == "pending")
            )
        return int(value or 0)

    async def due_channels(self, *, limit: int = 50) -> list[tuple[str, str, str]]:
        """(enterprise, team, channel) with notifications due now."""
        now = self.clock()
        async with self.engine.connect() as conn:
            result = await conn.execute(
                select(OUTBOX.c.enterprise_id, OUTBOX.c.team_id, OUTBOX.c.channel_id)
                .where(OUTBOX.c.state == "pending", OUTBOX.c.not_before <= now)
                .group_by(OUTBOX.c.enterprise_id, OUTBOX.c.team_id, OUTBOX.c.channel_id)
                .order_by(func.min(OUTBOX.c.id))
                .limit(limit)
            )
            return [tuple(r) for r in result.all()]

    async def claim_channel(
        self, enterprise_id: str, team_id: str, channel_id: str, owner: str, ttl: float
    ) -> float | None:
        """Become the one sender of a channel for ``ttl`` seconds; returns the channel's
        ``next_post_at`` (pacing), or None when another replica holds it."""
        now = self.clock()
        where = and_(
            CHANNELS.c.enterprise_id == enterprise_id,
            CHANNELS.c.team_id == team_id,
            CHANNELS.c.channel_id == channel_id,
        )
        async with self.engine.begin() as conn:
            await self._insert_ignore(
                conn,
                CHANNELS,
                [
                    {
                        "enterprise_id": enterprise_id,
                        "team_id": team_id,
                        "channel_id": channel_id,
                        "next_post_at": 0.0,
                    }
                ],
            )
            result = await conn.execute(
                update(CHANNELS)
                .where(
                    where,
                    or_(
                        CHANNELS.c.lease_until.is_(None),
                        CHANNELS.c.lease_until < now,
                        CHANNELS.c.lease_owner == owner,
                    ),
                )
                .values(lease_owner=owner, lease_until=now + ttl)
            )
            if result.rowcount != 1:
                return None
            return float(await conn.scalar(select(CHANNELS.c.next_post_at).where(where)) or 0.0)

    async def release_channel(
        self,
        enterprise_id: str,
        team_id: str,
        channel_id: str,
        owner: str,
        *,
        next_post_at: float | None = None,
    ) -> None:
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
        if next_post_at is not None:
            values["next_post_at"] = next_post_at
        async with self.engine.begin() as conn:
            await conn.execute(
                update(CHANNELS)
                .where(
                    CHANNELS.c.enterprise_id == enterprise_id,
                    CHANNELS.c.team_id == team_id,
                    CHANNELS.c.channel_id == channel_id,
                    CHANNELS.c.lease_owner == owner,
                )
                .values(**values)
            )

    async def set_next_post(
        self, enterprise_id: str, team_id: str, channel_id: str, owner: str, when: float
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(CHANNELS)
                .where(
                    CHANNELS.c.enterprise_id == enterprise_id,
                    CHANNELS.c.team_id == team_id,
                    CHANNELS.c.channel_id == channel_id,
                    CHANNELS.c.lease_owner == owner,
                )
                .values(next_post_at=when)
            )

    async def pending_for_channel(
        self, enterprise_id: str, team_id: str, channel_id: str, *, limit: int = 200
    ) -> list[Pending]:
        now = self.clock()
        async with self.engine.connect() as conn:
            result = await conn.execute(
                select(
                    OUTBOX.c.id,
                    OUTBOX.c.enterprise_id,
                    OUTBOX.c.team_id,
                    OUTBOX.c.provider,
                    OUTBOX.c.deployment_id,
                    OUTBOX.c.channel_id,
                    OUTBOX.c.seq,
                    OUTBOX.c.text,
                    OUTBOX.c.reply_blocks,
                    OUTBOX.c.card,
                    OUTBOX.c.attempts,
                )
                .where(
                    OUTBOX.c.enterprise_id == enterprise_id,
                    OUTBOX.c.team_id == team_id,
                    OUTBOX.c.channel_id == channel_id,
                    OUTBOX.c.state == "pending",
                    OUTBOX.c.not_before <= now,
                )
                .order_by(OUTBOX.c.id)
                .limit(limit)
            )
            return [Pending(*row) for row in result.all()]

    async def mark_sent(self, ids: Sequence[int]) -> int:
        if not ids:
            return 0
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(list(ids)), OUTBOX.c.state == "pending")
                .values(state="sent", sent_at=self.clock())
            )
        return int(result.rowcount or 0)

    async def defer(self, ids: Sequence[int], *, until: float, error: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(list(ids)), OUTBOX.c.state == "pending")
                .values(not_before=until, attempts=OUTBOX.c.attempts + 1, last_error=error[:200])
            )

    async def drop(self, ids: Sequence[int], *, error: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(list(ids)), OUTBOX.c.state == "pending")
                .values(state="dropped", last_error=error[:200])
            )

    async def message_ts(
        self, enterprise_id: str, team_id: str, provider: str, deployment_id: str, channel_id: str
    ) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.scalar(
                select(MESSAGES.c.ts).where(
                    MESSAGES.c.enterprise_id == enterprise_id,
                    MESSAGES.c.team_id == team_id,
                    MESSAGES.c.provider == provider,
                    MESSAGES.c.deployment_id == deployment_id,
                    MESSAGES.c.channel_id == channel_id,
                )
            )

    async def save_message_ts(
        self,
        enterprise_id: str,
        team_id: str,
        provider: str,
        deployment_id: str,
        channel_id: str,
        *,
        ts: str,
        replace: bool = False,
    ) -> None:
        """Remember the card message's ts (the first one stays, unless ``replace``: the old
        message was deleted from the channel)."""
        async with self.engine.begin() as conn:
            if replace:
                await conn.execute(
                    update(MESSAGES)
                    .where(
                        MESSAGES.c.enterprise_id == enterprise_id,
                        MESSAGES.c.team_id == team_id,
                        MESSAGES.c.provider == provider,
                        MESSAGES.c.deployment_id == deployment_id,
                        MESSAGES.c.channel_id == channel_id,
                    )
                    .values(ts=ts, posted_at=self.clock())
                )
            await self._insert_ignore(
                conn,
                MESSAGES,
                [
                    {
                        "enterprise_id": enterprise_id,
                        "team_id": team_id,
                        "provider": provider,
                        "deployment_id": deployment_id,
                        "channel_id": channel_id,
                        "ts": ts,
                        "posted_at": self.clock(),
                    }
                ],
            )
