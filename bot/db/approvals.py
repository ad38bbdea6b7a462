"""Approval requests and votes. Every state change is a conditional UPDATE on ``state``:
whichever replica's UPDATE matches the row wins; everyone else sees zero rows changed."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.db.models import ApprovalRequest, ApprovalVote

PENDING = "pending"
APPROVED = "approved"
DONE = "done"
FAILED = "failed"
DENIED = "denied"
CANCELLED = "cancelled"
EXPIRED = "expired"
#: A newer request for the same deployment replaced it.
SUPERSEDED = "superseded"
#: Approved, but the world moved (state changed, money gone, deployment gone): not run.
NOT_APPLICABLE = "not_applicable"
#: A policy change decided it (no approval needed any more, or now refused).
RESOLVED = "resolved"
FINAL = frozenset({DONE, FAILED, DENIED, CANCELLED, EXPIRED, SUPERSEDED, NOT_APPLICABLE, RESOLVED})


def _now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def new_request_id() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class NewRequest:
    team_id: str
    enterprise_id: str | None
    channel_id: str | None
    requester_id: str
    kind: str
    operation: str
    provider: str | None
    deployment_id: str | None
    summary: str
    risk: str
    rule: str
    reason: str | None
    expires_at: datetime
    next_reminder_at: datetime | None
    #: Identifies "the same request" while it is open (see ApprovalRequest.open_key).
    open_key: str | None = None


class ApprovalStore:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = _now) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.clock = clock

    async def create(self, new: NewRequest) -> ApprovalRequest | None:
        """File a request; None when the same request is already open."""
        row = ApprovalRequest(
            id=new_request_id(),
            enterprise_id=new.enterprise_id or "",
            team_id=new.team_id,
            channel_id=new.channel_id,
            requester_id=new.requester_id,
            kind=new.kind,
            operation=new.operation,
            provider=new.provider,
            deployment_id=new.deployment_id,
            summary=new.summary,
            risk=new.risk,
            rule=new.rule,
            reason=new.reason,
            state=PENDING,
            created_at=self.clock(),
            expires_at=new.expires_at,
            next_reminder_at=new.next_reminder_at,
            reminders_sent=0,
            open_key=new.open_key,
        )
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            return None
        return _fix(row)

    async def by_open_key(self, open_key: str) -> ApprovalRequest | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(ApprovalRequest).where(ApprovalRequest.open_key == open_key)
            )
        return _fix(row) if row is not None else None

    async def get(self, request_id: str) -> ApprovalRequest | None:
        async with self._sessions() as session:
            row = await session.get(ApprovalRequest, request_id)
        return _fix(row) if row is not None else None

    async def set_message(self, request_id: str, channel: str, ts: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(ApprovalRequest)
                .where(ApprovalRequest.id == request_id)
                .values(message_channel=channel, message_ts=ts)
            )

    async def vote(self, request_id: str, user_id: str) -> bool:
        """Record an approval; False when this person had already approved."""
        try:
            async with self._sessions.begin() as session:
                session.add(
                    ApprovalVote(request_id=request_id, user_id=user_id, voted_at=self.clock())
                )
        except IntegrityError:
            return False
        return True

    async def voters(self, request_id: str) -> list[str]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ApprovalVote.user_id)
                .where(ApprovalVote.request_id == request_id)
                .order_by(ApprovalVote.voted_at, ApprovalVote.id)
            )
            return list(rows)

    async def transition(
        self,
        request_id: str,
        *,
        from_states: Sequence[str],
        to: str,
        unexpired_at: datetime | None = None,
        **values: Any,
    ) -> bool:
        """Move the request to ``to`` only if it is in one of ``from_states`` (and, with
        ``unexpired_at``, not yet expired then). True for the one caller that moved it."""
        if to in FINAL:
            values["open_key"] = None  # the same request may be filed again
        query = (
            update(ApprovalRequest)
            .where(ApprovalRequest.id == request_id, ApprovalRequest.state.in_(list(from_states)))
            .values(state=to, **values)
        )
        if unexpired_at is not None:
            query = query.where(ApprovalRequest.expires_at > unexpired_at)
        async with self._sessions.begin() as session:
            result = await session.execute(query)
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def pending(
        self, *, team_id: str | None = None, enterprise_id: str | None = None, limit: int = 50
    ) -> list[ApprovalRequest]:
        query = select(ApprovalRequest).where(ApprovalRequest.state == PENDING)
        if team_id is not None:
            query = query.where(
                ApprovalRequest.team_id == team_id,
                ApprovalRequest.enterprise_id == (enterprise_id or ""),
            )
        query = query.order_by(ApprovalRequest.created_at).limit(limit)
        async with self._sessions() as session:
            return [_fix(r) for r in (await session.scalars(query)).all()]

    async def open_for(
        self, team_id: str, enterprise_id: str | None, deployment_id: str
    ) -> list[ApprovalRequest]:
        """Pending requests for one deployment in one workspace, oldest first."""
        query = (
            select(ApprovalRequest)
            .where(
                ApprovalRequest.state == PENDING,
                ApprovalRequest.team_id == team_id,
                ApprovalRequest.enterprise_id == (enterprise_id or ""),
                ApprovalRequest.deployment_id == deployment_id,
            )
            .order_by(ApprovalRequest.created_at)
        )
        async with self._sessions() as session:
            return [_fix(r) for r in (await session.scalars(query)).all()]

    async def due_for_expiry(self, now: datetime, limit: int = 100) -> list[ApprovalRequest]:
        query = (
            select(ApprovalRequest)
            .where(ApprovalRequest.state == PENDING, ApprovalRequest.expires_at <= now)
            .limit(limit)
        )
        async with self._sessions() as session:
            return [_fix(r) for r in (await session.scalars(query)).all()]

    async def due_for_reminder(self, now: datetime, limit: int = 100) -> list[ApprovalRequest]:
        query = (
            select(ApprovalRequest)
            .where(
                ApprovalRequest.state == PENDING,
                ApprovalRequest.next_reminder_at.is_not(None),
                ApprovalRequest.next_reminder_at <= now,
                ApprovalRequest.expires_at > now,
            )
            .limit(limit)
        )
        async with self._sessions() as session:
            return [_fix(r) for r in (await session.scalars(query)).all()]

    async def claim_reminder(self, row: ApprovalRequest, next_at: datetime | None) -> bool:
        """Move the reminder on; True for the one replica that should send it."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(ApprovalRequest)
                .where(
                    ApprovalRequest.id == row.id,
                    ApprovalRequest.state == PENDING,
                    ApprovalRequest.reminders_sent == row.reminders_sent,
                )
                .values(next_reminder_at=next_at, reminders_sent=row.reminders_sent + 1)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def stuck(self, older_than: datetime, limit: int = 100) -> list[ApprovalRequest]:
        """Approved but never finished (the replica running it died)."""
        query = (
            select(ApprovalRequest)
            .where(ApprovalRequest.state == APPROVED, ApprovalRequest.decided_at <= older_than)
            .limit(limit)
        )
        async with self._sessions() as session:
            return [_fix(r) for r in (await session.scalars(query)).all()]


def _fix(row: ApprovalRequest) -> ApprovalRequest:
    """SQLite returns naive datetimes: everything stored is UTC."""
    for name in ("created_at", "expires_at", "decided_at", "next_reminder_at"):
        setattr(row, name, aware(getattr(row, name)))
    return row


__all__ = [
    "APPROVED",
    "CANCELLED",
    "DENIED",
    "DONE",
    "EXPIRED",
    "FAILED",
    "FINAL",
    "PENDING",
    "ApprovalStore",
    "NewRequest",
]
