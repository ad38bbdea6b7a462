"""The hash-chained audit log, on SQLite and PostgreSQL: append, read, export and verify."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.db.audit import (
    GENESIS,
    AuditLog,
    AuditRecord,
    AuditRow,
    Broken,
    VerifyReport,
    entry_hash,
)
from bot.db.engine import create_engine
from bot.db.migrate import upgrade_async
from bot.db.models import AuditEntry


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    await upgrade_async(db_url)
    engine = create_engine(db_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def log(engine: AsyncEngine) -> AuditLog:
    return AuditLog(engine)


def record(team: str = "T1", n: int = 0, **kwargs: Any) -> AuditRecord:
    values: dict[str, Any] = {
        "team_id": team,
        "user_id": "U1ANA",
        "action": "scale",
        "decision": "allow",
        "result": "ok",
        "channel_id": "C0OPS",
        "provider": "akash",
        "target": f"dep-{n}",
        "params": {"replicas": n},
        "detail": f"entry {n}",
    }
    values.update(kwargs)
    return AuditRecord(**values)


async def fill(log: AuditLog, count: int, team: str = "T1", **kwargs: Any) -> list[int]:
    return [await log.append(record(team, n, **kwargs)) for n in range(1, count + 1)]


async def execute(engine: AsyncEngine, sql: str, **params: Any) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(text(sql), params)
        return result.rowcount


async def entries(engine: AsyncEngine, team: str = "T1") -> list[AuditEntry]:
    async with async_sessionmaker(engine)() as session:
        query = select(AuditEntry).where(AuditEntry.team_id == team).order_by(AuditEntry.seq)
        return list((await session.execute(query)).scalars())


# -- append --------------------------------------------------------------------------------


async def test_empty_log_verifies(log: AuditLog) -> None:
    report = await log.verify()
    assert report == VerifyReport(chains=0, entries=0, broken=[])
    assert report.ok
    assert await log.recent(team_id="T1") == []
    assert await log.export(team_id="T1") == []


async def test_appends_number_each_workspace_from_one(log: AuditLog) -> None:
    assert await fill(log, 3, "T1") == [1, 2, 3]
    assert await fill(log, 2, "T2") == [1, 2]
    assert await log.append(record("T1", 4)) == 4
    # The same team id under an enterprise is a chain of its own.
    assert await log.append(record("T1", 1, enterprise_id="E1")) == 1
    assert await log.append(record("T1", 2, enterprise_id="E1")) == 2
    report = await log.verify()
    assert report == VerifyReport(chains=3, entries=8, broken=[])


async def test_rows_link_to_the_previous_hash(log: AuditLog, engine: AsyncEngine) -> None:
    await fill(log, 3, "T1")
    await fill(log, 1, "T2")
    rows = await entries(engine, "T1")
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS
    assert rows[1].prev_hash == rows[0].hash
    assert rows[2].prev_hash == rows[1].hash
    assert len({r.hash for r in rows}) == 3
    for row in rows:
        assert len(row.hash) == 64
        assert entry_hash(row) == row.hash
    (other,) = await entries(engine, "T2")
    assert other.prev_hash == GENESIS


async def test_append_stores_every_field(engine: AsyncEngine) -> None:
    when = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)
    log = AuditLog(engine, clock=lambda: when)
    await log.append(
        AuditRecord(
            team_id="T1",
            enterprise_id="E9",
            user_id="U1ANA",
            channel_id="C0OPS",
            action="deposit",
            decision="approve",
            result="ok",
            provider="akash",
            target="dep-1",
            params={"amount_usd": Decimal("12.50"), "at": when, "ünï": "çødé"},
            approvers=("U2BOB", "U3CAT"),
            detail="escrow top-up",
            provider_ref="tx-123",
            request_id="R42",
        )
    )
    (row,) = await log.export(team_id="T1", enterprise_id="E9")
    assert row == AuditRow(
        seq=1,
        created_at=when,
        user_id="U1ANA",
        channel_id="C0OPS",
        action="deposit",
        provider="akash",
        target="dep-1",
        params={"amount_usd": "12.50", "at": str(when), "ünï": "çødé"},
        decision="approve",
        approvers=["U2BOB", "U3CAT"],
        result="ok",
        detail="escrow top-up",
        provider_ref="tx-123",
        request_id="R42",
        team_id="T1",
        enterprise_id="E9",
    )
    assert row.created_at.tzinfo is not None
    as_dict = row.as_dict()
    assert as_dict["time"] == when.isoformat()
    assert as_dict["seq"] == 1
    assert as_dict["approvers"] == ["U2BOB", "U3CAT"]
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert (await log.verify()).ok


async def test_append_converts_the_clock_to_utc(engine: AsyncEngine) -> None:
    local = datetime(2026, 5, 4, 5, 0, tzinfo=timezone(timedelta(hours=2)))
    log = AuditLog(engine, clock=lambda: local)
    await log.append(record())
    (row,) = await log.export(team_id="T1")
    assert row.created_at == local
    assert row.created_at.utcoffset() == timedelta(0)
    assert (await log.verify()).ok


async def test_append_cuts_long_values_and_empties_to_none(log: AuditLog) -> None:
    await log.append(
        record(
            action="a" * 50,
            decision="d" * 40,
            result="r" * 40,
            target="t" * 300,
            detail="x" * 5000,
            provider_ref="p" * 300,
        )
    )
    await log.append(record(target="", detail="", provider_ref=""))
    first, second = await log.export(team_id="T1")
    assert first.action == "a" * 32
    assert first.decision == "d" * 16
    assert first.result == "r" * 16
    assert first.target == "t" * 200
    assert first.detail == "x" * 2000
    assert first.provider_ref == "p" * 200
    assert (second.target, second.detail, second.provider_ref) == (None, None, None)
    assert (await log.verify()).ok


async def test_entry_hash_covers_every_field(log: AuditLog, engine: AsyncEngine) -> None:
    await log.append(record())
    (row,) = await entries(engine)
    original = entry_hash(row)
    changes: dict[str, Any] = {
        "enterprise_id": "E1",
        "team_id": "T2",
        "seq": 2,
        "created_at": row.created_at + timedelta(microseconds=1),
        "user_id": "U2BOB",
        "channel_id": None,
        "action": "stop",
        "provider": "nosana",
        "target": "other",
        "params": "{}",
        "decision": "deny",
        "approvers": '["U2BOB"]',
        "result": "failed",
        "detail": "edited",
        "provider_ref": "ref",
        "request_id": "R1",
        "prev_hash": "f" * 64,
    }
    for name, value in changes.items():
        kept = getattr(row, name)
        setattr(row, name, value)
        assert entry_hash(row) != original, name
        setattr(row, name, kept)
    assert entry_hash(row) == original
    # The stored hash and the row id are not part of the content.
    row.hash = "0" * 64
    row.id = 999
    assert entry_hash(row) == original


# -- verify: tampering ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("detail", "nothing to see here"),
        ("params", '{"replicas": 1000}'),
        ("user_id", "U9MAL"),
        ("decision", "allow!"),
        ("approvers", '["U9MAL"]'),
    ],
)
async def test_editing_a_row_breaks_the_chain_there(
    log: AuditLog, engine: AsyncEngine, column: str, value: str
) -> None:
    await fill(log, 5, "T1")
    await fill(log, 3, "T2")
    changed = await execute(
        engine,
        f"UPDATE audit_log SET {column} = :value WHERE team_id = 'T1' AND seq = 3",
        value=value,
    )
    assert changed == 1
    report = await log.verify()
    assert not report.ok
    assert (report.chains, report.entries) == (2, 8)
    assert report.broken == [
        Broken("T1", "", 3, "its contents don't match its hash (the row was edited)")
    ]
    assert str(report.broken[0]) == (
        "workspace T1, entry #3: its contents don't match its hash (the row was edited)"
    )


async def test_editing_the_first_row(log: AuditLog, engine: AsyncEngine) -> None:
    await fill(log, 3)
    await execute(engine, "UPDATE audit_log SET detail = NULL WHERE seq = 1")
    report = await log.verify()
    assert [(b.seq, "edited" in b.problem) for b in report.broken] == [(1, True)]


async def test_editing_the_time_of_a_row(log: AuditLog, engine: AsyncEngine) -> None:
    await fill(log, 3)
    rows = await entries(engine)
    async with engine.begin() as conn:
        await conn.execute(
            AuditEntry.__table__.update()
            .where(AuditEntry.seq == 2)
            .values(created_at=rows[1].created_at - timedelta(hours=1))
        )
    report = await log.verify()
    assert [(b.seq, "edited" in b.problem) for b in report.broken] == [(2, True)]


async def test_editing_a_rows_hash_is_reported_at_that_row(
    log: AuditLog, engine: AsyncEngine
) -> None:
    await fill(log, 4)
    await execute(engine, "UPDATE audit_log SET hash = :h WHERE seq = 2", h="a" * 64)
    report = await log.verify()
    assert len(report.broken) == 1
    assert report.broken[0].seq == 2
    assert "edited" in report.broken[0].problem


async def test_deleting_a_middle_row_is_reported_missing(
    log: AuditLog, engine: AsyncEngine
) -> None:
    await fill(log, 6, "T1")
    await fill(log, 2, "T2")
    assert await execute(engine, "DELETE FROM audit_log WHERE team_id = 'T1' AND seq = 3") == 1
    report = await log.verify()
    assert (report.chains, report.entries) == (2, 7)
    assert report.broken == [Broken("T1", "", 4, "entries #3–#3 are missing (deleted?)")]


async def test_deleting_several_rows_names_the_gap(log: AuditLog, engine: AsyncEngine) -> None:
    await fill(log, 6)
    await execute(engine, "DELETE FROM audit_log WHERE seq IN (2, 3, 4)")
    (broken,) = (await log.verify()).broken
    assert (broken.seq, broken.problem) == (5, "entries #2–#4 are missing (deleted?)")


async def test_deleting_the_first_row_is_reported(log: AuditLog, engine: AsyncEngine) -> None:
    await fill(log, 3)
    await execute(engine, "DELETE FROM audit_log WHERE seq = 1")
    (broken,) = (await log.verify()).broken
    assert broken.seq == 2
    assert "missing" in broken.problem


async def test_relinking_is_reported(log: AuditLog, engine: AsyncEngine) -> None:
    await fill(log, 5)
    await execute(engine, "UPDATE audit_log SET prev_hash = :h WHERE seq = 4", h="b" * 64)
    report = await log.verify()
    assert report.broken == [
        Broken("T1", "", 4, "it doesn't follow entry #3 (the chain was re-linked)")
    ]


async def test_relinking_a_recomputed_row_is_still_caught(
    log: AuditLog, engine: AsyncEngine
) -> None:
    """Edit a row and recompute its own hash: the next row no longer follows it."""
    await fill(log, 4)
    rows = await entries(engine)
    target = rows[1]
    target.detail = "rewritten"
    forged = entry_hash(target)
    await execute(
        engine,
        "UPDATE audit_log SET detail = 'rewritten', hash = :h WHERE seq = 2",
        h=forged,
    )
    report = await log.verify()
    assert report.broken == [
        Broken("T1", "", 3, "it doesn't follow entry #2 (the chain was re-linked)")
    ]


async def test_only_the_first_broken_link_per_workspace_is_reported(
    log: AuditLog, engine: AsyncEngine
) -> None:
    await fill(log, 6, "T1")
    await fill(log, 6, "T2")
    await fill(log, 3, "T3")
    await execute(
        engine, "UPDATE audit_log SET detail = 'x' WHERE team_id = 'T1' AND seq IN (2, 5)"
    )
    await execute(engine, "DELETE FROM audit_log WHERE team_id = 'T2' AND seq = 4")
    await execute(engine, "UPDATE audit_log SET detail = 'y' WHERE team_id = 'T2' AND seq = 6")
    report = await log.verify()
    assert (report.chains, report.entries) == (3, 14)
    assert [(b.team_id, b.seq) for b in report.broken] == [("T1", 2), ("T2", 5)]
    assert "missing" in report.broken[1].problem


async def test_verify_one_workspace(log: AuditLog, engine: AsyncEngine) -> None:
    await fill(log, 3, "T1")
    await fill(log, 4, "T2")
    await fill(log, 2, "T2", enterprise_id="E1")
    await execute(engine, "UPDATE audit_log SET detail = 'x' WHERE team_id = 'T1' AND seq = 2")

    t2 = await log.verify(team_id="T2")
    assert t2 == VerifyReport(chains=1, entries=4, broken=[])
    e1 = await log.verify(team_id="T2", enterprise_id="E1")
    assert e1 == VerifyReport(chains=1, entries=2, broken=[])
    t1 = await log.verify(team_id="T1")
    assert (t1.chains, t1.entries, [b.seq for b in t1.broken]) == (1, 3, [2])
    assert await log.verify(team_id="T9") == VerifyReport(chains=0, entries=0, broken=[])
    everything = await log.verify()
    assert (everything.chains, everything.entries) == (3, 9)
    assert [b.team_id for b in everything.broken] == ["T1"]


async def test_broken_names_the_enterprise(log: AuditLog, engine: AsyncEngine) -> None:
    await fill(log, 2, "T1", enterprise_id="E1")
    await execute(engine, "UPDATE audit_log SET detail = 'x' WHERE seq = 2")
    (broken,) = (await log.verify(team_id="T1", enterprise_id="E1")).broken
    assert broken.enterprise_id == "E1"
    assert str(broken).startswith("workspace E1/T1, entry #2: ")


async def test_appends_after_a_break_continue_the_chain(log: AuditLog, engine: AsyncEngine) -> None:
    await fill(log, 3)
    await execute(engine, "UPDATE audit_log SET detail = 'x' WHERE seq = 3")
    assert await log.append(record(n=4)) == 4
    rows = await entries(engine)
    assert rows[3].prev_hash == rows[2].hash  # links to the stored hash, edited row or not
    assert [b.seq for b in (await log.verify()).broken] == [3]


# -- concurrency ---------------------------------------------------------------------------


async def test_concurrent_appends_make_one_intact_chain(log: AuditLog, engine: AsyncEngine) -> None:
    seqs = await asyncio.gather(*(log.append(record("T1", n)) for n in range(50)))
    assert sorted(seqs) == list(range(1, 51))
    rows = await entries(engine)
    assert [r.seq for r in rows] == list(range(1, 51))
    report = await log.verify()
    assert report == VerifyReport(chains=1, entries=50, broken=[])


async def test_concurrent_appends_from_two_replicas(engine: AsyncEngine) -> None:
    """Two AuditLog instances (two processes' worth of locks) racing on one workspace."""
    first, second = AuditLog(engine), AuditLog(engine)
    seqs = await asyncio.gather(
        *(
            (first if n % 2 else second).append(record("T1", n, user_id=f"U{n:04d}"))
            for n in range(30)
        ),
        *(first.append(record("T2", n)) for n in range(10)),
    )
    assert sorted(seqs[:30]) == list(range(1, 31))
    assert sorted(seqs[30:]) == list(range(1, 11))
    report = await first.verify()
    assert report == VerifyReport(chains=2, entries=40, broken=[])


# -- recent and export ---------------------------------------------------------------------


async def test_recent_is_newest_first_and_limited(log: AuditLog) -> None:
    await fill(log, 12)
    rows = await log.recent(team_id="T1")
    assert [r.seq for r in rows] == list(range(12, 2, -1))
    assert [r.seq for r in await log.recent(team_id="T1", limit=3)] == [12, 11, 10]
    assert await log.recent(team_id="T2") == []


async def test_recent_filters_by_user_and_target(log: AuditLog) -> None:
    await log.append(record(n=1, user_id="U1ANA", target="llama-7b"))
    await log.append(record(n=2, user_id="U2BOB", target="llama-13b"))
    await log.append(record(n=3, user_id="U1ANA", target="mistral"))
    await log.append(record(n=4, user_id="U1ANA", target="llama-7b"))
    await log.append(record(n=5, user_id="U2BOB", target=None))
    await log.append(record("T2", n=6, user_id="U1ANA", target="llama-7b"))

    by_user = await log.recent(team_id="T1", user_id="U1ANA")
    assert [r.seq for r in by_user] == [4, 3, 1]
    by_target = await log.recent(team_id="T1", target="llama-7b")
    assert [r.seq for r in by_target] == [4, 1]
    by_prefix = await log.recent(team_id="T1", target="llama")
    assert [r.seq for r in by_prefix] == [4, 2, 1]
    both = await log.recent(team_id="T1", user_id="U2BOB", target="llama")
    assert [(r.seq, r.user_id, r.target) for r in both] == [(2, "U2BOB", "llama-13b")]
    assert await log.recent(team_id="T1", user_id="U9NOBODY") == []
    assert await log.recent(team_id="T1", target="gpt") == []
    assert [r.seq for r in await log.recent(team_id="T1", target="llama", limit=1)] == [4]


async def test_recent_pages_with_offset_and_count_uses_the_same_filters(log: AuditLog) -> None:
    await fill(log, 12)
    assert await log.count(team_id="T1") == 12
    pages = [
        [r.seq for r in await log.recent(team_id="T1", limit=5, offset=offset)]
        for offset in (0, 5, 10, 15)
    ]
    assert pages == [[12, 11, 10, 9, 8], [7, 6, 5, 4, 3], [2, 1], []]
    assert await log.count(team_id="T2") == 0
    assert await log.count(team_id="T1", user_id="U9NOBODY") == 0


async def test_recent_and_count_match_the_ids_a_name_means(log: AuditLog) -> None:
    """``targets``: the ids of the deployments a name means, besides the id prefix."""
    await log.append(record(n=1, target="FfKKEHKS111"))
    await log.append(record(n=2, target="abc999"))
    await log.append(record(n=3, target="ZZZ222"))
    await log.append(record(n=4, target="FfKKEHKS111"))
    named = {"target": "llama3-chat", "targets": ["FfKKEHKS111", "ZZZ222"]}
    assert [r.seq for r in await log.recent(team_id="T1", **named)] == [4, 3, 1]
    assert await log.count(team_id="T1", **named) == 3
    assert await log.count(team_id="T1", target="llama3-chat") == 0
    assert [r.seq for r in await log.recent(team_id="T1", target="abc")] == [2]


async def test_recent_and_export_keep_enterprises_apart(log: AuditLog) -> None:
    await fill(log, 2, "T1")
    await fill(log, 3, "T1", enterprise_id="E1")
    assert len(await log.recent(team_id="T1")) == 2
    assert len(await log.recent(team_id="T1", enterprise_id="E1")) == 3
    assert len(await log.export(team_id="T1")) == 2
    assert [r.enterprise_id for r in await log.export(team_id="T1", enterprise_id="E1")] == [
        "E1"
    ] * 3


async def test_export_is_oldest_first_and_complete(log: AuditLog) -> None:
    await fill(log, 15, "T1")
    await fill(log, 2, "T2")
    rows = await log.export(team_id="T1")
    assert [r.seq for r in rows] == list(range(1, 16))
    assert [r.detail for r in rows] == [f"entry {n}" for n in range(1, 16)]
    assert [r.params for r in rows] == [{"replicas": n} for n in range(1, 16)]
    assert all(r.team_id == "T1" for r in rows)
    times = [r.created_at for r in rows]
    assert times == sorted(times)


@pytest.fixture
def backend(db_url: str) -> str:
    return "postgres" if db_url.startswith("postgres") else "sqlite"


async def test_recent_target_is_literal(log: AuditLog) -> None:
    await log.append(record(n=1, target="my_app"))
    await log.append(record(n=2, target="myXapp"))
    await log.append(record(n=3, target="other"))
    assert [r.target for r in await log.recent(team_id="T1", target="my_app")] == ["my_app"]
    assert await log.recent(team_id="T1", target="%") == []


async def test_recent_target_case(log: AuditLog) -> None:
    await log.append(record(n=1, target="AbCdEf123"))
    await log.append(record(n=2, target="abcdef456"))
    assert [r.target for r in await log.recent(team_id="T1", target="abc")] == ["abcdef456"]
