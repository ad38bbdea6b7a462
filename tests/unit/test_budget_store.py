"""The budget's SQL on SQLite and PostgreSQL: caps, the burn from the watcher's states, burn
samples (with the one that held when a period began), pruning, and alerts claimed once."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.budget import Caps, Period, Reached, Sample, integrate
from bot.db.budget_store import OUTBOX, SAMPLES, STATES, BudgetStore
from bot.db.engine import create_engine
from bot.db.migrate import upgrade_async

T = "T1"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    await upgrade_async(db_url)
    engine = create_engine(db_url)
    try:
        yield engine
    finally:
        await engine.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def state(
    engine: AsyncEngine, dep: str, status: str, cost: float | None, *, gone: bool = False
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(STATES).values(
                enterprise_id="",
                team_id=T,
                provider="nosana",
                deployment_id=dep,
                name=dep,
                status=status,
                alerts="",
                seq=0,
                gone=gone,
                fingerprint="",
                cost_per_hour=cost,
                updated_at=0.0,
            )
        )


async def test_caps_are_upserted_per_scope_and_cleared(engine: AsyncEngine) -> None:
    store = BudgetStore(engine)
    await store.set_cap(T, None, "nosana", Period.DAY, Decimal(50), user_id="U1")
    await store.set_cap(T, None, "nosana", Period.HOUR, Decimal("2.5"), user_id="U1")
    await store.set_cap(T, None, "nosana", Period.DAY, Decimal(60), user_id="U2")
    await store.set_cap(T, None, "", Period.MONTH, Decimal(900), user_id="U1")
    caps = await store.caps(T, None)
    assert caps == {
        "nosana": Caps(per_hour=Decimal("2.5"), per_day=Decimal(60)),
        "": Caps(per_month=Decimal(900)),
    }
    assert await store.teams_with_caps([("", T), ("", "T2")]) == {("", T)}
    assert await store.clear(T, None, "nosana") is True
    assert await store.clear(T, None, "nosana") is False
    assert set(await store.caps(T, None)) == {""}


async def test_the_burn_sums_what_runs_and_counts_what_has_no_price(engine: AsyncEngine) -> None:
    store = BudgetStore(engine)
    await state(engine, "a", "running", 0.4)
    await state(engine, "b", "running", 1.1)
    await state(engine, "c", "stopped", 0.0)
    await state(engine, "d", "running", None)
    await state(engine, "e", "running", 9.0, gone=True)
    await state(engine, "", "ok", None)  # the account's row
    burn = (await store.burn_now(T, None))["nosana"]
    assert burn.per_hour == Decimal("1.5") and burn.unknown == 1


async def test_samples_are_recorded_on_change_or_heartbeat_and_integrated(
    engine: AsyncEngine,
) -> None:
    clock = Clock()
    store = BudgetStore(engine, clock=clock)
    await state(engine, "a", "running", 2.0)
    assert await store.record_burn(T, None, "nosana", heartbeat=600) == Decimal(2)
    clock.now += 60
    await store.record_burn(T, None, "nosana", heartbeat=600)  # same burn, recent: nothing
    clock.now += 600
    await store.record_burn(T, None, "nosana", heartbeat=600)  # the heartbeat
    clock.now += 3600
    await store.record_burn(T, None, "nosana")  # no heartbeat: an unchanged burn writes nothing
    async with engine.connect() as conn:
        times = (await conn.scalars(select(SAMPLES.c.at).order_by(SAMPLES.c.at))).all()
    assert times == [1_000_000.0, 1_000_660.0]
    assert await store.prune(before=2_000_000.0) == 1  # the newest one always stays
    async with engine.connect() as conn:
        times = (await conn.scalars(select(SAMPLES.c.at))).all()
    assert times == [1_000_660.0]


async def test_spend_is_integrated_in_the_database_as_the_pure_reference_does(
    engine: AsyncEngine,
) -> None:
    store = BudgetStore(engine)
    rng = random.Random(7)
    history: dict[str, list[Sample]] = {"nosana": [], "akash": []}
    rows = []
    for provider, samples in history.items():
        at = 0.0
        for _ in range(200):
            at += rng.choice((30.0, 300.0, 3600.0, 20_000.0))
            per_hour = Decimal(rng.choice(("0", "0.385", "1.5", "4.2")))
            samples.append(Sample(at, per_hour))
            rows.append(
                {
                    "enterprise_id": "",
                    "team_id": T,
                    "provider": provider,
                    "at": at,
                    "per_hour": float(per_hour),
                }
            )
    async with engine.begin() as conn:
        await conn.execute(insert(SAMPLES), rows)
    end = max(s.at for s in history["nosana"]) - 5000.0  # later samples do not count yet
    for starts in ([0.0, 50_000.0], [123_456.0, end - 10.0], [end + 1, end + 2]):
        found = await store.spend(T, None, starts, end)
        for provider, samples in history.items():
            expected = [integrate(samples, start, end) for start in starts]
            got = found.get(provider, [Decimal(0)] * len(starts))
            for want, have in zip(expected, got, strict=True):
                assert abs(want - have) < Decimal("0.0001"), (provider, starts, want, have)


async def test_an_alert_level_is_claimed_once_with_one_notice_per_channel(
    engine: AsyncEngine,
) -> None:
    store = BudgetStore(engine)
    levels = [
        Reached("nosana", Period.DAY, "day:2026-12-07", 80, Decimal(17), Decimal(20)),
        Reached("nosana", Period.DAY, "day:2026-12-07", 100, Decimal(21), Decimal(20)),
    ]

    def text(level: Reached) -> str:
        return f"{level.level}%"

    new = await store.claim_alerts(T, None, levels, text_for=text, channels=["C1", "C2"])
    assert [r.level for r in new] == [80, 100]
    again = await store.claim_alerts(T, None, levels, text_for=text, channels=["C1", "C2"])
    assert again == []
    async with engine.connect() as conn:
        rows = (await conn.execute(select(OUTBOX.c.channel_id, OUTBOX.c.text, OUTBOX.c.seq))).all()
    # only the highest new level of a cap is posted; sequences never collide with account ones
    assert sorted((c, t) for c, t, _ in rows) == [("C1", "100%"), ("C2", "100%")]
    assert all(seq < 0 for _, _, seq in rows)
    assert await store.fired(T, None, ["day:2026-12-07"]) == [
        ("nosana", "day:2026-12-07", "day", 80),
        ("nosana", "day:2026-12-07", "day", 100),
    ]
    # long after their period, they are pruned
    assert await store.prune(before=store.clock() + 1) == 2
    assert await store.fired(T, None, ["day:2026-12-07"]) == []
