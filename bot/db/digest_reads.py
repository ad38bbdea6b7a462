"""What the daily digest reads of one workspace's day: recorded starts and stops (the audit
log), approvals decided, alerts the watcher sent. Read-only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.digest import STARTS, STOPS, Decided, Toggle
from bot.db.models import ApprovalRequest, AuditEntry, NotificationOutbox, WatchedState

AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]
APPROVALS: Table = ApprovalRequest.__table__  # type: ignore[assignment]
OUTBOX: Table = NotificationOutbox.__table__  # type: ignore[assignment]
STATES: Table = WatchedState.__table__  # type: ignore[assignment]


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


class DigestReads:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def toggles(
        self, team_id: str, enterprise_id: str | None, *, since: float
    ) -> dict[tuple[str, str], list[Toggle]]:
        """(provider, deployment id) → the starts and stops carried out since ``since``."""
        query = select(AUDIT.c.provider, AUDIT.c.target, AUDIT.c.action, AUDIT.c.created_at).where(
            AUDIT.c.team_id == team_id,
            AUDIT.c.enterprise_id == (enterprise_id or ""),
            AUDIT.c.action.in_(sorted(STARTS | STOPS)),
            AUDIT.c.result == "ok",
            AUDIT.c.created_at >= _dt(since),
        )
        found: dict[tuple[str, str], list[Toggle]] = {}
        async with self.engine.connect() as conn:
            for row in (await conn.execute(query)).all():
                if not row.provider or not row.target:
                    continue
                toggle = Toggle(at=_epoch(row.created_at), on=row.action in STARTS)
                found.setdefault((row.provider, row.target), []).append(toggle)
        return found

    async def decided(
        self, team_id: str, enterprise_id: str | None, *, start: float, end: float
    ) -> list[Decided]:
        query = (
            select(
                APPROVALS.c.id,
                APPROVALS.c.state,
                APPROVALS.c.summary,
                APPROVALS.c.decided_by,
            )
            .where(
                APPROVALS.c.team_id == team_id,
                APPROVALS.c.enterprise_id == (enterprise_id or ""),
                APPROVALS.c.decided_at >= _dt(start),
                APPROVALS.c.decided_at < _dt(end),
            )
            .order_by(APPROVALS.c.decided_at)
            .limit(500)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [Decided(r.id, r.state, r.summary or "", r.decided_by) for r in rows]

    async def alerts(
        self,
        team_id: str,
        enterprise_id: str | None,
        *,
        start: float,
        end: float,
        headings: Iterable[str],
    ) -> list[tuple[str, str, str]]:
        """(provider, deployment name, alert line) of each alert the watcher wrote that day,
        once however many channels it went to."""
        marks = tuple(headings)
        query = (
            select(OUTBOX.c.provider, OUTBOX.c.deployment_id, OUTBOX.c.seq, OUTBOX.c.text)
            .where(
                OUTBOX.c.team_id == team_id,
                OUTBOX.c.enterprise_id == (enterprise_id or ""),
                OUTBOX.c.created_at >= start,
                OUTBOX.c.created_at < end,
            )
            .order_by(OUTBOX.c.created_at)
            .limit(2000)
        )
        names_query = select(STATES.c.provider, STATES.c.deployment_id, STATES.c.name).where(
            STATES.c.team_id == team_id, STATES.c.enterprise_id == (enterprise_id or "")
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            names = {(r.provider, r.deployment_id): r.name for r in await conn.execute(names_query)}
        seen: set[tuple[str, str, int]] = set()
        found: list[tuple[str, str, str]] = []
        for row in rows:
            key = (row.provider, row.deployment_id, row.seq)
            if key in seen:
                continue
            for mark in marks:
                if mark in row.text:
                    seen.add(key)
                    name = names.get((row.provider, row.deployment_id)) or row.deployment_id
                    found.append((row.provider, name or "the account", mark))
                    break
        return found
