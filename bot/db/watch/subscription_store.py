"""Watches (who wants to hear about what, in which channel) and each workspace's alert
thresholds; a change to either resyncs the poll keys."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.db.watch.lease_store import PollLeaseStore
from bot.db.watch.outbox_store import CHANNELS, MESSAGES, OUTBOX
from bot.db.watch.store_base import (
    ATTRIBUTIONS,
    LEASES,
    SETTINGS,
    STATES,
    WATCHES,
)
from bot.watch.diff import Thresholds, channels_for


class SubscriptionStore(PollLeaseStore):
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
