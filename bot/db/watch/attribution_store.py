"""Attributions: who changed a deployment through deploybot, so the watcher can credit them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from bot.db.watch.store_base import (
    ATTRIBUTIONS,
    SqlStore,
)


class AttributionStore(SqlStore):
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
