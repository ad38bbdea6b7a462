"""The job table's SQL: enqueue (a unique key makes a retry one job), claim under a lease
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one conditional ``UPDATE … RETURNING`` on SQLite,
whose writers are serialized anyway), heartbeat, take over what a dead worker held, finish.

Every write a worker makes to a job it holds is fenced by ``owner``: a worker whose lease ran
out (and whose job another worker took over) can no longer finish or record on it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any, TypeVar

from sqlalchemy import (
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import BindParameter

from bot.db.engine import is_sqlite
from bot.db.loop_writer import LoopWriter, SqliteStatement, WriteLocked
from bot.db.models import Job

T = TypeVar("T")

JOBS: Table = Job.__table__  # type: ignore[assignment]

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
#: The columns a new job's row is written with.
NEW_ROW_COLUMNS = (
    "key",
    "kind",
    "payload",
    "state",
    "team_id",
    "user_id",
    "attempts",
    "run_after",
    "calls",
    "created_at",
)
#: SQLite: while another connection holds the write lock, the loop writer tries again this
#: often (a failed try costs microseconds; SQLite's own busy handler sleeps 25-100 ms between
#: tries after the first few, while other writers take the lock in between) ...
LOCK_POLL = 0.001
#: ... for this long, then waits through the async engine (the listener answers at 2 s anyway).
LOCK_WAIT = 1.5
#: Rows per INSERT statement.
CHUNK = 500
#: How a job whose key is freed when it ends says so in its payload.
FREE_KEY = '"_free_key":true'


@dataclass(frozen=True)
class NewJob:
    kind: str
    key: str
    payload: dict[str, Any]
    team_id: str = ""
    user_id: str = ""
    #: Not before this epoch time (None: now).
    run_after: float | None = None
    #: A key that is freed once the job ends (a double click while it runs is one job; a
    #: later click is a new one). Otherwise the key stays taken forever (a Slack retry of a
    #: command or an event is always the same job).
    while_running: bool = False


@dataclass(frozen=True)
class Call:
    """A non-idempotent provider call, recorded before it was sent."""

    seq: int
    method: str
    provider: str
    target: str
    #: What was known before sending (e.g. the escrow before a deposit).
    before: dict[str, str] = field(default_factory=dict)
    confirmed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "provider": self.provider,
            "target": self.target,
            "before": self.before,
            "confirmed": self.confirmed,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Call:
        return cls(
            seq=int(data.get("seq", 0)),
            method=str(data.get("method", "")),
            provider=str(data.get("provider", "")),
            target=str(data.get("target", "")),
            before={str(k): str(v) for k, v in dict(data.get("before") or {}).items()},
            confirmed=bool(data.get("confirmed")),
        )


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    key: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    calls: tuple[Call, ...]
    team_id: str = ""
    user_id: str = ""
    #: When the job was written (epoch seconds): what it did can't predate this.
    created_at: float = 0.0

    @property
    def taken_over(self) -> bool:
        """Another worker had it before (and died, or lost its lease)."""
        return self.attempts > 1

    @property
    def unconfirmed(self) -> tuple[Call, ...]:
        return tuple(c for c in self.calls if not c.confirmed)


@dataclass(frozen=True)
class Scheduled:
    """A job that waits for its time (a stop timer, the next digest)."""

    id: int
    key: str
    run_after: float
    payload: dict[str, Any]
    user_id: str = ""


def _decode_calls(text: str | None) -> tuple[Call, ...]:
    try:
        data = json.loads(text or "[]")
    except ValueError:
        return ()
    return tuple(Call.from_json(c) for c in data if isinstance(c, dict))


#: The SQLite insert of one job row (the loop-thread writer runs it per row).
_SQLITE_INSERT = SqliteStatement.of(
    sqlite.insert(JOBS).on_conflict_do_nothing(index_elements=["key"]),
    column_keys=list(NEW_ROW_COLUMNS),
)


def _insert_sqlite(rows: list[dict[str, Any]], conn: sqlite3.Connection) -> list[str]:
    """Insert the rows one statement each (a taken key inserts nothing); the keys inserted."""
    cursor = conn.cursor()
    inserted = []
    try:
        for row in rows:
            cursor.execute(_SQLITE_INSERT.sql, _SQLITE_INSERT.args(row))
            if cursor.rowcount == 1:
                inserted.append(row["key"])
    finally:
        cursor.close()
    return inserted


def _insert(rows: list[dict[str, Any]], conn: Connection) -> list[str]:
    """Insert the rows, skipping taken keys; the keys inserted."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    inserted: list[str] = []
    for start in range(0, len(rows), CHUNK):
        stmt = (
            dialect.insert(JOBS)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(JOBS.c.key)
        )
        result = conn.execute(stmt, rows[start : start + CHUNK])
        inserted.extend(str(k) for k in result.scalars().all())
    return inserted


@cache
def _claim_statement(*, postgres: bool) -> Any:
    """The claim, built once (per dialect) with bound parameters: ``now``, ``limit``,
    ``new_owner``, ``new_lease``. Building it for every claim cost more than running it.

    Two picks, each an index range in the order it is read (``ix_jobs_due``: state, then
    run_after), so a claim reads about ``limit`` rows however long the queue or the table of
    finished jobs: jobs whose lease ran out (a dead worker's), then queued jobs longest due
    first. (One pick with an OR of both, ordered by id, sorted every due job on each claim:
    0.5 ms of SQLite a claim with 1,000 queued.)
    """
    now: BindParameter[float] = bindparam("now")
    limit: BindParameter[int] = bindparam("limit")
    expired = (
        select(JOBS.c.id)
        .where(JOBS.c.state == RUNNING, JOBS.c.lease_until < now)
        .order_by(JOBS.c.id)
        .limit(limit)
    )
    queued = (
        select(JOBS.c.id)
        .where(JOBS.c.state == QUEUED, JOBS.c.run_after <= now)
        .order_by(JOBS.c.run_after, JOBS.c.id)
        .limit(limit)
    )
    first: Any
    then: Any
    if postgres:
        # materialized CTEs: PostgreSQL locks (and skips) rows once, so a claim never
        # returns more than ``limit`` jobs (an ``IN (subquery)`` may be re-evaluated)
        first = expired.with_for_update(skip_locked=True).cte("expired").prefix_with("MATERIALIZED")
        then = queued.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
    else:  # SQLite serializes writers: the subquery runs once, under the write lock
        first, then = expired.subquery("expired"), queued.subquery("due")
    picked = union_all(select(first.c.id), select(then.c.id)).subquery("picked")
    # The picked rows are still claimable when they are updated (SQLite: the write lock;
    # PostgreSQL: the rows' locks), so the update finds them by id alone — a second look at
    # the state would have SQLite scan every due job again, by that index.
    return (
        update(JOBS)
        .where(JOBS.c.id.in_(select(picked.c.id).limit(limit).scalar_subquery()))
        .values(
            state=RUNNING,
            owner=bindparam("new_owner"),
            lease_until=bindparam("new_lease"),
            attempts=JOBS.c.attempts + 1,
        )
        .returning(
            JOBS.c.id,
            JOBS.c.key,
            JOBS.c.kind,
            JOBS.c.payload,
            JOBS.c.attempts,
            JOBS.c.calls,
            JOBS.c.team_id,
            JOBS.c.user_id,
            JOBS.c.created_at,
        )
    )


@cache
def _sqlite_claim() -> SqliteStatement:
    return SqliteStatement.of(_claim_statement(postgres=False))


@cache
def _sqlite_finish() -> SqliteStatement:
    return SqliteStatement.of(_finish_statement())


def _claimed_rows(params: dict[str, Any], conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return _sqlite_claim().run(params, conn).fetchall()


def _finished_count(params: dict[str, Any], conn: sqlite3.Connection) -> int:
    return _sqlite_finish().run(params, conn).rowcount


def _held_by_owner() -> tuple[Any, ...]:
    """The fence of a worker's writes: job ``job_id``, running, held by ``job_owner``."""
    return (
        JOBS.c.id == bindparam("job_id"),
        JOBS.c.owner == bindparam("job_owner"),
        JOBS.c.state == RUNNING,
    )


@cache
def _finish_statement() -> Any:
    """A job's end, built once with bound parameters (``job_id``, ``job_owner``,
    ``new_state``, ``finished``, ``new_error``); fenced by the owner. A click's key is freed in
    the same statement (``key#id``)."""
    freed = func.substr(JOBS.c.key, 1, 180).concat("#").concat(cast(JOBS.c.id, String))
    return (
        update(JOBS)
        .where(*_held_by_owner())
        .values(
            state=bindparam("new_state"),
            finished_at=bindparam("finished"),
            lease_until=None,
            error=bindparam("new_error"),
            key=case((JOBS.c.payload.like(f"%{FREE_KEY}%"), freed), else_=JOBS.c.key),
        )
    )


@cache
def _heartbeat_statement() -> Any:
    """Extend the leases of the jobs (``ids``) ``job_owner`` still holds to ``new_lease``."""
    return (
        update(JOBS)
        .where(
            JOBS.c.id.in_(bindparam("ids", expanding=True)),
            JOBS.c.owner == bindparam("job_owner"),
            JOBS.c.state == RUNNING,
        )
        .values(lease_until=bindparam("new_lease"))
        .returning(JOBS.c.id)
    )


@cache
def _journal_statement() -> Any:
    """Write a running job's call journal (``new_calls``), fenced by ``job_owner``."""
    return update(JOBS).where(*_held_by_owner()).values(calls=bindparam("new_calls"))


class JobStore:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Callable[[], float] = time.time,
        writer: LoopWriter | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.postgres = not is_sqlite(engine.url)
        #: SQLite: every write here runs on the loop's thread (see :mod:`bot.db.loop_writer`).
        self.writer = writer

    # -- enqueue ---------------------------------------------------------------------------

    async def enqueue(self, jobs: Sequence[NewJob]) -> list[bool]:
        """Write the jobs (one transaction); for each, whether it is new (False: its key was
        already taken, e.g. a Slack retry)."""
        if not jobs:
            return []
        now = self.clock()
        rows = [
            {
                "key": job.key[:200],
                "kind": job.kind,
                "payload": json.dumps(
                    {**job.payload, "_free_key": True} if job.while_running else job.payload,
                    separators=(",", ":"),
                ),
                "state": QUEUED,
                "team_id": job.team_id[:32],
                "user_id": job.user_id[:32],
                "attempts": 0,
                "run_after": job.run_after if job.run_after is not None else now,
                "calls": "[]",
                "created_at": now,
            }
            for job in jobs
        ]
        inserted = set(await self._insert(rows))
        return [row["key"] in inserted for row in rows]

    async def _insert(self, rows: list[dict[str, Any]]) -> list[str]:
        if self.postgres and len(rows) <= CHUNK:
            # one statement is atomic on its own: no BEGIN/COMMIT round trips around it
            async with self.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                return await conn.run_sync(partial(_insert, rows))
        # SQLite's loop writer runs the compiled insert on the DB-API connection, row by row
        return await self._write(partial(_insert, rows), raw=partial(_insert_sqlite, rows))

    async def _write(
        self,
        work: Callable[[Connection], T],
        *,
        raw: Callable[[sqlite3.Connection], T] | None = None,
    ) -> T:
        """Run ``work`` (statements on a synchronous connection) in one write transaction: on
        SQLite on the loop's thread (``raw`` instead, when given, on the DB-API connection;
        tried again every millisecond while the write lock is taken, for a while), else — and
        then — through the async engine."""
        if self.writer is not None:
            deadline = time.monotonic() + LOCK_WAIT
            while True:
                try:
                    if raw is not None:
                        return self.writer.try_write(raw)
                    return self.writer.try_run(work)
                except WriteLocked:
                    if time.monotonic() >= deadline:
                        break
                await asyncio.sleep(LOCK_POLL)
        async with self.engine.begin() as conn:
            return await conn.run_sync(work)

    # -- claim, heartbeat, finish ------------------------------------------------------------

    async def claim(self, owner: str, *, lease: float, limit: int) -> list[ClaimedJob]:
        """Take up to ``limit`` due jobs (queued, or running under an expired lease)."""
        if limit <= 0:
            return []
        now = self.clock()
        stmt = _claim_statement(postgres=self.postgres)
        params = {"now": now, "limit": limit, "new_owner": owner, "new_lease": now + lease}
        # (on SQLite the compiled statement runs on the DB-API connection: same SQL)
        rows = await self._write(
            lambda conn: conn.execute(stmt, params).all(), raw=partial(_claimed_rows, params)
        )
        claimed = []
        # the RETURNING columns, in order (rows are tuples on SQLite's raw path)
        for job_id, key, kind, text, attempts, calls, team_id, user_id, created in sorted(rows):
            try:
                payload = json.loads(text)
            except ValueError:
                payload = {}
            claimed.append(
                ClaimedJob(
                    id=job_id,
                    key=key,
                    kind=kind,
                    payload=payload if isinstance(payload, dict) else {},
                    attempts=attempts,
                    calls=_decode_calls(calls),
                    team_id=team_id,
                    user_id=user_id,
                    created_at=float(created),
                )
            )
        return claimed

    async def heartbeat(self, owner: str, ids: Sequence[int], *, lease: float) -> set[int]:
        """Extend the lease of the jobs ``owner`` still holds; returns the ids it still holds."""
        if not ids:
            return set()
        params = {"ids": list(ids), "job_owner": owner, "new_lease": self.clock() + lease}
        stmt = _heartbeat_statement()
        held = await self._write(lambda conn: conn.execute(stmt, params).scalars().all())
        return {int(i) for i in held}

    async def finish(
        self, job_id: int, owner: str, *, failed: bool = False, error: str | None = None
    ) -> bool:
        """Mark the job ended (fenced: False when another worker holds it now). One
        ``UPDATE``: a click's key is freed in the same statement (``key#id``)."""
        params = {
            "job_id": job_id,
            "job_owner": owner,
            "new_state": FAILED if failed else DONE,
            "finished": self.clock(),
            "new_error": (error or None) and str(error)[:300],
        }
        stmt = _finish_statement()
        return bool(
            await self._write(
                lambda conn: conn.execute(stmt, params).rowcount,
                raw=partial(_finished_count, params),
            )
        )

    # -- the provider-call journal -----------------------------------------------------------

    async def record_calls(self, job_id: int, owner: str, calls: Sequence[Call]) -> bool:
        """Write the job's call journal (fenced by ``owner``)."""
        text = json.dumps([c.as_json() for c in calls], separators=(",", ":"))
        params = {"job_id": job_id, "job_owner": owner, "new_calls": text}
        stmt = _journal_statement()
        return bool(await self._write(lambda conn: conn.execute(stmt, params).rowcount))

    # -- timers: queued jobs with a future ``run_after`` ------------------------------------

    async def reschedule(
        self, key: str, run_after: float | None = None, *, later_by: float | None = None
    ) -> float | None:
        """Move a job that still waits (queued) to ``run_after``, or ``later_by`` seconds
        later than it was (one UPDATE: two extensions at once both count). Returns its new
        time; None when it no longer waits (it runs, ended, was cancelled) or never existed."""
        if (run_after is None) == (later_by is None):
            raise ValueError("give run_after or later_by")
        value = JOBS.c.run_after + later_by if later_by is not None else run_after
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(JOBS)
                .where(JOBS.c.key == key[:200], JOBS.c.state == QUEUED)
                .values(run_after=value)
                .returning(JOBS.c.run_after)
            )
            found = result.scalar()
            return float(found) if found is not None else None

    async def cancel(self, key: str, *, why: str = "cancelled") -> bool:
        """End a job that still waits (queued) without running it; its key is freed (a new
        job may take it). False when it no longer waits: a worker has it, or it ended."""
        async with self.engine.begin() as conn:
            job_id = await conn.scalar(
                select(JOBS.c.id).where(JOBS.c.key == key[:200], JOBS.c.state == QUEUED)
            )
            if job_id is None:
                return False
            result = await conn.execute(
                update(JOBS)
                .where(JOBS.c.id == job_id, JOBS.c.state == QUEUED)
                .values(
                    state=DONE,
                    finished_at=self.clock(),
                    error=why[:300],
                    key=f"{key[:180]}#{job_id}",
                )
            )
            return bool(result.rowcount)

    async def scheduled(
        self, kind: str, team_id: str, *, key_prefix: str = "", limit: int = 100
    ) -> list[Scheduled]:
        """The jobs of ``kind`` that wait (queued) in a workspace, soonest first."""
        query = select(
            JOBS.c.id, JOBS.c.key, JOBS.c.run_after, JOBS.c.payload, JOBS.c.user_id
        ).where(JOBS.c.kind == kind, JOBS.c.team_id == team_id[:32], JOBS.c.state == QUEUED)
        if key_prefix:
            query = query.where(JOBS.c.key.startswith(key_prefix, autoescape=True))
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(query.order_by(JOBS.c.run_after, JOBS.c.id).limit(limit))
            ).all()
        found = []
        for row in rows:
            try:
                payload = json.loads(row.payload)
            except ValueError:
                payload = {}
            found.append(
                Scheduled(
                    id=row.id,
                    key=row.key,
                    run_after=float(row.run_after),
                    payload=payload if isinstance(payload, dict) else {},
                    user_id=row.user_id,
                )
            )
        return found

    # -- reading -----------------------------------------------------------------------------

    async def busy(self, *, due_within: float = 0.0) -> int:
        """Jobs queued and due (within ``due_within`` seconds) or running."""
        now = self.clock()
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                select(func.count())
                .select_from(JOBS)
                .where(
                    or_(
                        JOBS.c.state == RUNNING,
                        and_(JOBS.c.state == QUEUED, JOBS.c.run_after <= now + due_within),
                    )
                )
            )
        return int(value or 0)

    async def get(self, job_id: int) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(JOBS).where(JOBS.c.id == job_id))).mappings().first()
        return dict(row) if row is not None else None

    async def by_key(self, key: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(JOBS).where(JOBS.c.key == key))).mappings().first()
        return dict(row) if row is not None else None

    async def counts(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(select(JOBS.c.state, func.count()).group_by(JOBS.c.state))
            ).all()
        return {str(state): int(n) for state, n in rows}

    async def purge(self, *, older_than: float) -> int:
        """Forget ended jobs that ended before ``older_than`` (epoch seconds)."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(JOBS).where(
                    JOBS.c.state.in_((DONE, FAILED)), JOBS.c.finished_at < older_than
                )
            )
            return int(result.rowcount or 0)
