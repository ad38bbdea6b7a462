"""The audit log: append-only rows, each holding the hash of the row before it (per workspace).

Editing or deleting a row breaks the chain at that row, and :meth:`AuditLog.verify` names the
first broken link. Appends from several replicas are serialized per workspace by the unique
``(workspace, seq)`` constraint (a loser retries on top of the winner) and, on PostgreSQL, an
advisory transaction lock that makes retries rare.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.db.models import AuditEntry

GENESIS = "0" * 64
MAX_ATTEMPTS = 200


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class AuditRecord:
    """What happened: never a secret (callers pass operation parameters, not keys)."""

    team_id: str
    user_id: str
    action: str
    decision: str
    result: str
    enterprise_id: str | None = None
    channel_id: str | None = None
    provider: str | None = None
    target: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    approvers: Sequence[str] = ()
    detail: str | None = None
    provider_ref: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class AuditRow:
    seq: int
    created_at: datetime
    user_id: str
    channel_id: str | None
    action: str
    provider: str | None
    target: str | None
    params: dict[str, Any]
    decision: str
    approvers: list[str]
    result: str
    detail: str | None
    provider_ref: str | None
    request_id: str | None
    team_id: str
    enterprise_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.created_at.isoformat(),
            "team_id": self.team_id,
            "enterprise_id": self.enterprise_id,
            "user_id": self.user_id,
            "channel_id": self.channel_id,
            "action": self.action,
            "provider": self.provider,
            "target": self.target,
            "params": self.params,
            "decision": self.decision,
            "approvers": self.approvers,
            "result": self.result,
            "detail": self.detail,
            "provider_ref": self.provider_ref,
            "request_id": self.request_id,
        }


@dataclass(frozen=True)
class Broken:
    """The first broken link of one workspace's chain."""

    team_id: str
    enterprise_id: str
    seq: int
    problem: str

    def __str__(self) -> str:
        where = f"{self.enterprise_id}/{self.team_id}" if self.enterprise_id else self.team_id
        return f"workspace {where}, entry #{self.seq}: {self.problem}"


@dataclass(frozen=True)
class VerifyReport:
    chains: int
    entries: int
    broken: list[Broken]

    @property
    def ok(self) -> bool:
        return not self.broken


def _stamp(value: datetime) -> str:
    return _aware(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(row: AuditEntry) -> str:
    """SHA-256 over the previous hash and every field of the row (canonical JSON)."""
    content = {
        "enterprise_id": row.enterprise_id,
        "team_id": row.team_id,
        "seq": row.seq,
        "created_at": _stamp(row.created_at),
        "user_id": row.user_id,
        "channel_id": row.channel_id,
        "action": row.action,
        "provider": row.provider,
        "target": row.target,
        "params": row.params,
        "decision": row.decision,
        "approvers": row.approvers,
        "result": row.result,
        "detail": row.detail,
        "provider_ref": row.provider_ref,
        "request_id": row.request_id,
        "prev_hash": row.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _lock_key(enterprise_id: str, team_id: str) -> int:
    digest = hashlib.sha256(f"audit:{enterprise_id}:{team_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _row(entry: AuditEntry) -> AuditRow:
    return AuditRow(
        seq=entry.seq,
        created_at=_aware(entry.created_at),
        user_id=entry.user_id,
        channel_id=entry.channel_id,
        action=entry.action,
        provider=entry.provider,
        target=entry.target,
        params=json.loads(entry.params or "{}"),
        decision=entry.decision,
        approvers=json.loads(entry.approvers or "[]"),
        result=entry.result,
        detail=entry.detail,
        provider_ref=entry.provider_ref,
        request_id=entry.request_id,
        team_id=entry.team_id,
        enterprise_id=entry.enterprise_id,
    )


class AuditLog:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = _now) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._postgres = engine.dialect.name == "postgresql"
        self._local = asyncio.Lock()  # SQLite runs in one process: no point racing ourselves
        self.clock = clock

    async def append(self, record: AuditRecord) -> int:
        """Add a row at the end of its workspace's chain; returns its sequence number."""
        ent = record.enterprise_id or ""
        for attempt in range(MAX_ATTEMPTS):
            try:
                if self._postgres:
                    return await self._append_once(record, ent)
                async with self._local:
                    return await self._append_once(record, ent)
            except (IntegrityError, OperationalError):
                if attempt == MAX_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(random.uniform(0.001, 0.02))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _append_once(self, record: AuditRecord, ent: str) -> int:
        async with self._sessions.begin() as session:
            if self._postgres:
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"),
                    {"key": _lock_key(ent, record.team_id)},
                )
            last = (
                await session.execute(
                    select(AuditEntry.seq, AuditEntry.hash)
                    .where(AuditEntry.enterprise_id == ent, AuditEntry.team_id == record.team_id)
                    .order_by(AuditEntry.seq.desc())
                    .limit(1)
                )
            ).first()
            entry = AuditEntry(
                enterprise_id=ent,
                team_id=record.team_id,
                seq=(last.seq + 1) if last else 1,
                created_at=self.clock().astimezone(UTC),
                user_id=record.user_id,
                channel_id=record.channel_id,
                action=record.action[:32],
                provider=record.provider,
                target=(record.target or None) and record.target[:200],
                params=json.dumps(record.params, sort_keys=True, default=str),
                decision=record.decision[:16],
                approvers=json.dumps(list(record.approvers)),
                result=record.result[:16],
                detail=(record.detail or None) and record.detail[:2000],
                provider_ref=(record.provider_ref or None) and record.provider_ref[:200],
                request_id=record.request_id,
                prev_hash=last.hash if last else GENESIS,
                hash="",
            )
            entry.hash = entry_hash(entry)
            session.add(entry)
            await session.flush()
            return entry.seq

    async def recent(
        self,
        *,
        team_id: str,
        enterprise_id: str | None = None,
        limit: int = 10,
        offset: int = 0,
        user_id: str | None = None,
        target: str | None = None,
        targets: Sequence[str] = (),
    ) -> list[AuditRow]:
        """Newest first, ``offset`` rows skipped. ``target`` matches a deployment id, its start,
        or the target text; ``targets`` are more ids that match (a name's deployments)."""
        query = self._filtered(
            select(AuditEntry),
            team_id=team_id,
            enterprise_id=enterprise_id,
            user_id=user_id,
            target=target,
            targets=targets,
        )
        query = query.order_by(AuditEntry.seq.desc()).offset(offset).limit(limit)
        async with self._sessions() as session:
            return [_row(e) for e in (await session.execute(query)).scalars()]

    async def count(
        self,
        *,
        team_id: str,
        enterprise_id: str | None = None,
        user_id: str | None = None,
        target: str | None = None,
        targets: Sequence[str] = (),
    ) -> int:
        """How many rows :meth:`recent` pages through with the same filters."""
        query = self._filtered(
            select(func.count()).select_from(AuditEntry),
            team_id=team_id,
            enterprise_id=enterprise_id,
            user_id=user_id,
            target=target,
            targets=targets,
        )
        async with self._sessions() as session:
            return int(await session.scalar(query) or 0)

    @staticmethod
    def _filtered(
        query: Any,
        *,
        team_id: str,
        enterprise_id: str | None,
        user_id: str | None,
        target: str | None,
        targets: Sequence[str],
    ) -> Any:
        query = query.where(
            AuditEntry.enterprise_id == (enterprise_id or ""), AuditEntry.team_id == team_id
        )
        if user_id:
            query = query.where(AuditEntry.user_id == user_id)
        if target:
            # A literal, case-sensitive prefix on both databases (no LIKE wildcards).
            matches = [
                AuditEntry.target == target,
                func.substr(AuditEntry.target, 1, len(target)) == target,
            ]
            if targets:
                matches.append(AuditEntry.target.in_(list(targets)))
            query = query.where(or_(*matches))
        return query

    async def export(self, *, team_id: str, enterprise_id: str | None = None) -> list[AuditRow]:
        """Every row of the workspace, oldest first."""
        query = (
            select(AuditEntry)
            .where(
                and_(
                    AuditEntry.enterprise_id == (enterprise_id or ""),
                    AuditEntry.team_id == team_id,
                )
            )
            .order_by(AuditEntry.seq)
        )
        async with self._sessions() as session:
            return [_row(e) for e in (await session.execute(query)).scalars()]

    async def verify(
        self, *, team_id: str | None = None, enterprise_id: str | None = None
    ) -> VerifyReport:
        """Walk every workspace's chain (or one); report each chain's first broken link."""
        broken: list[Broken] = []
        chains = entries = 0
        current: tuple[str, str] | None = None
        expected_seq, prev = 1, GENESIS
        failed = False
        query = select(AuditEntry).order_by(
            AuditEntry.enterprise_id, AuditEntry.team_id, AuditEntry.seq
        )
        if team_id is not None:
            query = query.where(
                AuditEntry.team_id == team_id, AuditEntry.enterprise_id == (enterprise_id or "")
            )
        async with self._sessions() as session:
            result = await session.stream_scalars(query.execution_options(yield_per=1000))
            async for entry in result:
                key = (entry.enterprise_id, entry.team_id)
                if key != current:
                    current, chains, expected_seq, prev, failed = key, chains + 1, 1, GENESIS, False
                entries += 1
                if failed:
                    continue
                problem = None
                if entry.seq != expected_seq:
                    problem = (
                        f"entries #{expected_seq}–#{entry.seq - 1} are missing (deleted?)"
                        if entry.seq > expected_seq
                        else "its sequence number repeats"
                    )
                elif entry.prev_hash != prev:
                    problem = f"it doesn't follow entry #{entry.seq - 1} (the chain was re-linked)"
                elif entry_hash(entry) != entry.hash:
                    problem = "its contents don't match its hash (the row was edited)"
                if problem:
                    broken.append(Broken(entry.team_id, entry.enterprise_id, entry.seq, problem))
                    failed = True
                    continue
                expected_seq, prev = entry.seq + 1, entry.hash
        return VerifyReport(chains=chains, entries=entries, broken=broken)


__all__ = ["AuditLog", "AuditRecord", "AuditRow", "Broken", "VerifyReport", "entry_hash"]
