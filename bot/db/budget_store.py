"""Budget SQL: caps, the burn history (samples), the burn now (from the watcher's states) and
the alerts that fired, each claimed once by a unique row and queued on the watcher's outbox in
the same transaction (so it is delivered like any notification, once, whatever the replicas)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, and_, case, delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.budget import Caps, Period, Reached
from bot.core.preflight_state import SPENDING
from bot.db.models import BudgetAlert, BudgetCap, BurnSample, NotificationOutbox, WatchedState

CAPS: Table = BudgetCap.__table__  # type: ignore[assignment]
SAMPLES: Table = BurnSample.__table__  # type: ignore[assignment]
ALERTS: Table = BudgetAlert.__table__  # type: ignore[assignment]
STATES: Table = WatchedState.__table__  # type: ignore[assignment]
OUTBOX: Table = NotificationOutbox.__table__  # type: ignore[assignment]

_RUNNING = tuple(s.value for s in SPENDING)
_COLUMN = {Period.HOUR: "per_hour", Period.DAY: "per_day", Period.MONTH: "per_month"}


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass(frozen=True, slots=True)
class Burn:
    """A provider's burn now, from the watcher's states."""

    per_hour: Decimal
    #: Running deployments without a known cost.
    unknown: int = 0


class BudgetStore:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock
        self.postgres = engine.dialect.name == "postgresql"

    # -- caps --------------------------------------------------------------------------------

    async def caps(self, team_id: str, enterprise_id: str | None) -> dict[str, Caps]:
        """provider ("" for the whole workspace) → its caps."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        CAPS.c.provider, CAPS.c.per_hour, CAPS.c.per_day, CAPS.c.per_month
                    ).where(
                        CAPS.c.team_id == team_id, CAPS.c.enterprise_id == (enterprise_id or "")
                    )
                )
            ).all()
        return {p: Caps(_dec(h), _dec(d), _dec(m)) for p, h, d, m in rows}

    async def teams_with_caps(self, teams: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (enterprise, team) workspaces have any cap."""
        if not teams:
            return set()
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(CAPS.c.enterprise_id, CAPS.c.team_id)
                    .where(CAPS.c.team_id.in_(sorted({t for _, t in teams})))
                    .distinct()
                )
            ).all()
        wanted = set(teams)
        return {(e, t) for e, t in rows if (e, t) in wanted}

    async def set_cap(
        self,
        team_id: str,
        enterprise_id: str | None,
        provider: str,
        period: Period,
        amount: Decimal,
        *,
        user_id: str,
    ) -> None:
        ent = enterprise_id or ""
        values: dict[str, Any] = {
            _COLUMN[period]: float(amount),
            "updated_by": user_id,
            "updated_at": self.clock(),
        }
        dialect = postgresql if self.postgres else sqlite
        stmt = dialect.insert(CAPS).values(
            enterprise_id=ent, team_id=team_id, provider=provider, **values
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["enterprise_id", "team_id", "provider"], set_=values
        )
        async with self.engine.begin() as conn:
            await conn.execute(stmt)

    async def clear(self, team_id: str, enterprise_id: str | None, provider: str) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(CAPS).where(
                    CAPS.c.team_id == team_id,
                    CAPS.c.enterprise_id == (enterprise_id or ""),
                    CAPS.c.provider == provider,
                )
            )
        return bool(result.rowcount)

    # -- burn --------------------------------------------------------------------------------

    async def burn_now(self, team_id: str, enterprise_id: str | None) -> dict[str, Burn]:
        """provider → what its listed, not-gone deployments cost per hour (watcher's states)."""
        unknown = func.sum(
            case(
                (and_(STATES.c.cost_per_hour.is_(None), STATES.c.status.in_(_RUNNING)), 1),
                else_=0,
            )
        )
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(STATES.c.provider, func.sum(STATES.c.cost_per_hour), unknown)
                    .where(
                        STATES.c.team_id == team_id,
                        STATES.c.enterprise_id == (enterprise_id or ""),
                        STATES.c.deployment_id != "",
                        STATES.c.gone.is_(False),
                    )
                    .group_by(STATES.c.provider)
                )
            ).all()
        return {
            p: Burn(Decimal(str(total or 0)).quantize(Decimal("0.000001")), int(missing or 0))
            for p, total, missing in rows
        }

    async def record_burn(
        self,
        team_id: str,
        enterprise_id: str | None,
        provider: str,
        *,
        heartbeat: float | None = None,
    ) -> Decimal:
        """Record the key's burn now as a sample when it differs from the last one (or, with a
        ``heartbeat``, when the last is older than that many seconds); returns it. A sample
        holds until the next, so an unchanged burn needs no new row."""
        ent, now = enterprise_id or "", self.clock()
        burn = (await self.burn_now(team_id, enterprise_id)).get(provider, Burn(Decimal(0)))
        async with self.engine.begin() as conn:
            last = (
                await conn.execute(
                    select(SAMPLES.c.at, SAMPLES.c.per_hour)
                    .where(
                        SAMPLES.c.team_id == team_id,
                        SAMPLES.c.enterprise_id == ent,
                        SAMPLES.c.provider == provider,
                    )
                    .order_by(SAMPLES.c.at.desc())
                    .limit(1)
                )
            ).first()
            if (
                last is None
                or abs(Decimal(str(last[1])) - burn.per_hour) > Decimal("0.000001")
                or (heartbeat is not None and now - float(last[0]) >= heartbeat)
            ):
                await conn.execute(
                    insert(SAMPLES).values(
                        enterprise_id=ent,
                        team_id=team_id,
                        provider=provider,
                        at=now,
                        per_hour=float(burn.per_hour),
                    )
                )
        return burn.per_hour

    async def spend(
        self, team_id: str, enterprise_id: str | None, starts: Sequence[float], now: float
    ) -> dict[str, list[Decimal]]:
        """provider → dollars spent from each of ``starts`` until ``now``, integrated in the
        database from the samples (each holds until the next; the last until ``now``): the same
        sums as :func:`bot.core.budget.integrate`, without reading the history out."""
        mine = and_(SAMPLES.c.team_id == team_id, SAMPLES.c.enterprise_id == (enterprise_id or ""))
        earliest = min(starts) if starts else now
        async with self.engine.connect() as conn:
            # Only the samples from the one that held at the earliest start on are read.
            held = (
                await conn.execute(
                    select(func.max(SAMPLES.c.at))
                    .where(mine, SAMPLES.c.at < earliest)
                    .group_by(SAMPLES.c.provider)
                )
            ).scalars()
            lower = min((float(at) for at in held), default=earliest)
        where = and_(mine, SAMPLES.c.at >= lower, SAMPLES.c.at < now)
        steps = select(
            SAMPLES.c.provider,
            SAMPLES.c.at,
            SAMPLES.c.per_hour,
            func.lead(SAMPLES.c.at)
            .over(partition_by=SAMPLES.c.provider, order_by=(SAMPLES.c.at, SAMPLES.c.id))
            .label("until"),
        ).where(where)
        step = steps.subquery()
        hi = case((step.c.until.is_(None), now), (step.c.until > now, now), else_=step.c.until)
        sums = []
        for start in starts:
            lo = case((step.c.at < start, start), else_=step.c.at)
            sums.append(func.sum(case((hi > lo, step.c.per_hour * (hi - lo)), else_=0.0)))
        query = (
            select(step.c.provider, *sums)
            .where(or_(step.c.until.is_(None), step.c.until > earliest))
            .group_by(step.c.provider)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {
            row[0]: [
                (Decimal(str(value or 0)) / 3600).quantize(Decimal("0.000001")) for value in row[1:]
            ]
            for row in rows
        }

    async def prune(self, before: float) -> int:
        """Delete samples older than ``before``, keeping each key's newest one, and the alerts
        that fired before it (their periods are over)."""
        newest = (
            select(func.max(SAMPLES.c.id))
            .group_by(SAMPLES.c.enterprise_id, SAMPLES.c.team_id, SAMPLES.c.provider)
            .scalar_subquery()
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(SAMPLES).where(SAMPLES.c.at < before, SAMPLES.c.id.not_in(newest))
            )
            alerts = await conn.execute(delete(ALERTS).where(ALERTS.c.created_at < before))
        return int(result.rowcount or 0) + int(alerts.rowcount or 0)

    # -- alerts ------------------------------------------------------------------------------

    async def fired(
        self, team_id: str, enterprise_id: str | None, periods: Sequence[str]
    ) -> list[tuple[str, str, str, int]]:
        """(provider, period, cap, level) of the alerts fired in these periods."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(ALERTS.c.provider, ALERTS.c.period, ALERTS.c.cap, ALERTS.c.level)
                    .where(
                        ALERTS.c.team_id == team_id,
                        ALERTS.c.enterprise_id == (enterprise_id or ""),
                        ALERTS.c.period.in_(list(periods)),
                    )
                    .order_by(ALERTS.c.created_at)
                )
            ).all()
        return [(p, k, c, int(level)) for p, k, c, level in rows]

    async def claim_alerts(
        self,
        team_id: str,
        enterprise_id: str | None,
        levels: Sequence[Reached],
        *,
        text_for: Callable[[Reached], str],
        channels: Sequence[str],
    ) -> list[Reached]:
        """Record the levels not recorded yet; for each cap's highest new level, queue one
        notice per channel on the outbox — in one transaction. Returns the new levels."""
        ent, now = enterprise_id or "", self.clock()
        dialect = postgresql if self.postgres else sqlite
        new: list[tuple[Reached, int]] = []
        async with self.engine.begin() as conn:
            for level in levels:
                key = {
                    "enterprise_id": ent,
                    "team_id": team_id,
                    "provider": level.provider,
                    "period": level.key,
                    "cap": level.period.value,
                    "level": level.level,
                }
                stmt = dialect.insert(ALERTS).values(
                    **key, value_usd=float(level.value), cap_usd=float(level.cap), created_at=now
                )
                result = await conn.execute(stmt.on_conflict_do_nothing())
                if result.rowcount != 1:
                    continue
                row_id = await conn.scalar(
                    select(ALERTS.c.id).where(*(ALERTS.c[k] == v for k, v in key.items()))
                )
                new.append((level, int(row_id or 0)))
            tops: dict[tuple[str, Period], tuple[Reached, int]] = {}
            for level, row_id in new:
                top = tops.get((level.provider, level.period))
                if top is None or level.level > top[0].level:
                    tops[(level.provider, level.period)] = (level, row_id)
            out = [
                {
                    "enterprise_id": ent,
                    "team_id": team_id,
                    "provider": level.provider,
                    "deployment_id": "",
                    "channel_id": channel,
                    # Negative: never the sequence of an account notice (those count up from 1).
                    "seq": -row_id,
                    "text": text_for(level),
                    "reply_blocks": None,
                    "card": None,
                    "state": "pending",
                    "attempts": 0,
                    "not_before": now,
                    "created_at": now,
                }
                for level, row_id in tops.values()
                for channel in channels
            ]
            if out:
                await conn.execute(insert(OUTBOX), out)
        return [level for level, _ in new]

    async def forget_workspace(self, team_id: str, enterprise_id: str | None) -> None:
        ent = enterprise_id or ""
        async with self.engine.begin() as conn:
            for table in (CAPS, SAMPLES, ALERTS):
                await conn.execute(
                    delete(table).where(table.c.team_id == team_id, table.c.enterprise_id == ent)
                )
