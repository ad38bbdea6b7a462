"""Nosana deployments through their life, with the sandbox's clock moved by the tests."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from bot.providers.errors import WrongStateError
from bot.providers.http import RetryPolicy
from bot.providers.models import DeploymentStatus
from bot.providers.nosana import NosanaProvider
from sandbox.clock import ManualClock
from sandbox.common import RunningSandbox
from sandbox.nosana import NosanaSandbox

M4090 = "97G9NnvBDQ2WpKu6fasoMsAKmfj63C9rhysJnkeWodAf"
PRICE = Decimal("0.385")  # 0.35 USD/h + 10 % network fee
KEY = "nos_sk_lifecycleTestKey000000000000000000"
MINUTE, HOUR = 60, 3600


def body(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "svc",
        "market": M4090,
        "timeout": 60,
        "replicas": 1,
        "job_definition": {
            "version": "0.1",
            "type": "container",
            "ops": [
                {"type": "container/run", "id": "svc", "args": {"image": "nginx", "expose": 80}}
            ],
        },
    }
    data.update(overrides)
    return data


@dataclass
class World:
    api: NosanaSandbox
    clock: ManualClock
    client: NosanaProvider

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    async def status(self, dep_id: str) -> DeploymentStatus:
        return (await self.client.get(dep_id)).status

    async def job_states(self, dep_id: str) -> list[str]:
        return sorted(j.state for j in await self.client.jobs(dep_id, limit=100))

    async def event_types(self, dep_id: str) -> list[str]:
        return [e.type for e in await self.client.events(dep_id, limit=100)]


@pytest.fixture
async def world(clock: ManualClock, fast_retry: RetryPolicy) -> AsyncIterator[World]:
    api = NosanaSandbox(clock, seed=False)
    api.add_api_key(KEY, credits_usd=100)
    async with RunningSandbox(api) as running:
        client = NosanaProvider(KEY, base_url=running.base_url, retry=fast_retry)
        yield World(api, clock, client)
        await client.aclose()


async def test_create_start_scale_revise_stop_archive(world: World) -> None:
    client = world.client
    created = (await client.create(body(strategy="SIMPLE-EXTEND"))).deployment
    dep = created.id
    assert created.status is DeploymentStatus.DRAFT

    assert (await client.start(dep)).status is DeploymentStatus.STARTING
    world.advance(2)
    assert await world.status(dep) is DeploymentStatus.RUNNING
    assert await world.job_states(dep) == []  # RUNNING comes before any job exists
    world.advance(5)
    assert await world.job_states(dep) == ["QUEUED"]
    world.advance(30)
    assert await world.job_states(dep) == ["RUNNING"]
    assert (await client.get(dep)).extras["active_jobs"] == 1
    world.advance(10)  # the node has posted partial results by now
    assert any("Listening on 0.0.0.0:80" in line.message for line in await client.logs(dep))

    scaled = await client.scale(dep, 3)
    assert scaled.replicas == 3 and scaled.cost_per_hour_usd == PRICE * 3
    world.advance(5)
    assert await world.job_states(dep) == ["QUEUED", "QUEUED", "RUNNING"]
    world.advance(30)
    assert await world.job_states(dep) == ["RUNNING"] * 3
    await client.scale(dep, 2)
    world.advance(10)
    assert await world.job_states(dep) == ["RUNNING", "RUNNING", "STOPPED"]
    assert "JOB_STOPPED_CONFIRMED" in await world.event_types(dep)

    new_definition = body()["job_definition"]
    new_definition["ops"][0]["args"]["image"] = "nginx:1.28"
    revised = await client.revise(dep, new_definition)
    assert revised.active_revision == 2
    world.advance(40)
    jobs = await client.jobs(dep, limit=100)
    live = [j for j in jobs if j.state == "RUNNING"]
    assert len(live) == 2 and {j.revision for j in live} == {2}
    assert {j.state for j in jobs if j.revision == 1} == {"STOPPED"}

    assert (await client.stop(dep)).status is DeploymentStatus.STOPPING
    world.advance(5)
    assert await world.status(dep) is DeploymentStatus.STOPPED
    assert set(await world.job_states(dep)) == {"STOPPED"}
    assert (await client.balance()).available_usd < Decimal(100)

    assert (await client.archive(dep)).status is DeploymentStatus.ARCHIVED
    with pytest.raises(WrongStateError):
        await client.delete(dep)


async def test_simple_stops_by_itself_when_its_jobs_end(world: World) -> None:
    dep = (await world.client.create(body(replicas=2, timeout=30, autostart=True))).deployment.id
    world.advance(35)  # STARTING 2 s + LIST 3 s + claim 30 s
    assert await world.job_states(dep) == ["RUNNING", "RUNNING"]
    world.advance(30 * MINUTE - 1)
    assert await world.status(dep) is DeploymentStatus.RUNNING
    world.advance(1)
    assert await world.status(dep) is DeploymentStatus.STOPPED
    assert await world.job_states(dep) == ["COMPLETED", "COMPLETED"]
    messages = [line.message for line in await world.client.logs(dep)]
    assert messages.count("Container exited with code 0") == 2
    spent = Decimal(100) - (await world.client.balance()).available_usd
    assert abs(spent - PRICE) < Decimal("0.000001")  # 2 jobs × 30 min × 0.385 USD/h


async def test_credits_run_out_then_come_back(world: World) -> None:
    world.api.set_credits(KEY, Decimal("0.20"))
    dep = (
        await world.client.create(body(strategy="INFINITE", timeout=120, autostart=True))
    ).deployment.id
    world.advance(37)
    assert await world.status(dep) is DeploymentStatus.RUNNING
    world.advance(31 * MINUTE)  # 0.20 USD lasts 0.20 / 0.385 h ≈ 31.2 min
    assert await world.status(dep) is DeploymentStatus.RUNNING
    world.advance(MINUTE)
    deployment = await world.client.get(dep)
    assert deployment.status is DeploymentStatus.INSUFFICIENT_FUNDS
    assert deployment.raw_status == "INSUFFICIENT_FUNDS"
    assert await world.job_states(dep) == ["STOPPED"]
    shortage = (await world.client.events(dep))[0]
    assert shortage.type == "JOB_LIST_ERROR"
    assert "Insufficient credits" in shortage.message and "Available: $0.000" in shortage.message
    assert (await world.client.balance()).available_usd == 0

    world.advance(10 * MINUTE)  # the retry 10 min later finds no credits: next one in 20 min
    assert await world.status(dep) is DeploymentStatus.INSUFFICIENT_FUNDS
    assert (await world.event_types(dep)).count("JOB_LIST_ERROR") == 2
    world.api.set_credits(KEY, Decimal(10))
    world.advance(19 * MINUTE)
    assert await world.status(dep) is DeploymentStatus.INSUFFICIENT_FUNDS
    world.advance(MINUTE)  # the retry lists a job at once; a node claims it 30 s later
    assert await world.status(dep) is DeploymentStatus.RUNNING
    assert await world.job_states(dep) == ["RUNNING", "STOPPED"]
    assert (await world.client.balance()).available_usd < Decimal(10)


async def test_no_credits_at_start_and_stop_from_insufficient_funds(world: World) -> None:
    world.api.set_credits(KEY, 0)
    dep = (await world.client.create(body(autostart=True))).deployment.id
    world.advance(10)
    assert await world.status(dep) is DeploymentStatus.INSUFFICIENT_FUNDS
    assert await world.job_states(dep) == []
    assert (await world.client.stop(dep)).status is DeploymentStatus.STOPPING
    world.advance(5)
    assert await world.status(dep) is DeploymentStatus.STOPPED
    world.advance(HOUR)  # the cancelled retry must not revive it
    assert await world.status(dep) is DeploymentStatus.STOPPED


async def test_infinite_replaces_jobs_before_they_time_out(world: World) -> None:
    dep = (
        await world.client.create(
            body(strategy="INFINITE", timeout=60, rotation_time=20, autostart=True)
        )
    ).deployment.id
    world.advance(37)
    first = (await world.client.jobs(dep))[0]
    world.advance(40 * MINUTE + 5)  # rotation: 20 min before the 60 min timeout
    assert await world.job_states(dep) == ["QUEUED", "RUNNING"]
    world.advance(20 * MINUTE)
    states = {j.id: j.state for j in await world.client.jobs(dep)}
    assert states[first.id] == "COMPLETED"
    assert list(states.values()).count("RUNNING") == 1
    assert await world.status(dep) is DeploymentStatus.RUNNING

    current = next(j for j in await world.client.jobs(dep) if j.state == "RUNNING")
    world.api.complete_job(current.id)  # the container exits early: replaced at once
    world.advance(40)
    assert (await world.job_states(dep)).count("RUNNING") == 1
    assert await world.status(dep) is DeploymentStatus.RUNNING


async def test_scheduled_fires_at_cron_times(world: World) -> None:
    # The manual clock starts at 12:00:00 UTC.
    dep = (
        await world.client.create(
            body(strategy="SCHEDULED", schedule="0 * * * *", timeout=30, autostart=True)
        )
    ).deployment.id
    world.advance(5 * MINUTE)
    assert await world.status(dep) is DeploymentStatus.RUNNING
    assert await world.job_states(dep) == []
    world.advance(55 * MINUTE + 31)  # 13:00:31
    assert await world.job_states(dep) == ["RUNNING"]
    world.advance(31 * MINUTE)  # 13:31:31: the job ended, the deployment waits
    assert await world.job_states(dep) == ["COMPLETED"]
    assert await world.status(dep) is DeploymentStatus.RUNNING
    await world.client.set_schedule(dep, "45 * * * *")
    world.advance(14 * MINUTE)  # 13:45:31
    assert await world.job_states(dep) == ["COMPLETED", "RUNNING"]
    world.advance(15 * MINUTE)  # 14:00:31: the old 14:00 firing was replaced
    assert len(await world.job_states(dep)) == 2


async def test_simple_extend_extends_running_jobs(world: World) -> None:
    dep = (
        await world.client.create(body(strategy="SIMPLE-EXTEND", timeout=60, autostart=True))
    ).deployment.id
    world.advance(37 + 56 * MINUTE)  # the extension is due 5 min before the end
    assert "JOB_EXTEND_SUCCESSFUL" in await world.event_types(dep)
    world.advance(30 * MINUTE)
    assert await world.job_states(dep) == ["RUNNING"]
    await world.client.set_timeout(dep, 120)
    world.advance(90 * MINUTE)
    assert await world.job_states(dep) == ["RUNNING"]
    await world.client.stop(dep)
    world.advance(5)
    assert await world.job_states(dep) == ["STOPPED"]


async def test_an_unknown_market_fails_at_list_time_then_errors(world: World) -> None:
    unknown = "3Bq7XoZ2Hsd4mC6kUoE3m9vWm7gq7nXh8kPzH1vZpq1u"
    dep = (await world.client.create(body(market=unknown, autostart=True))).deployment.id
    world.advance(HOUR)
    assert await world.status(dep) is DeploymentStatus.RUNNING  # handled errors keep RUNNING
    events = await world.client.events(dep)
    assert events and all(e.type == "JOB_LIST_ERROR" and unknown in e.message for e in events)
    world.advance(10 * HOUR)  # 60 retries on the 30 s × 2 ladder capped at 10 min
    deployment = await world.client.get(dep)
    assert deployment.status is DeploymentStatus.FAILED and deployment.raw_status == "ERROR"
    assert (await world.client.start(deployment.id)).status is DeploymentStatus.STARTING


async def test_force_status_helper(world: World) -> None:
    dep = (await world.client.create(body(autostart=True))).deployment.id
    world.advance(40)
    world.api.force_status(dep, "ERROR")
    assert await world.status(dep) is DeploymentStatus.FAILED
    assert await world.job_states(dep) == ["STOPPED"]
    with pytest.raises(ValueError):
        world.api.force_status(dep, "BROKEN")


def test_seeding_is_deterministic() -> None:
    def ids(seed: int) -> list[str]:
        api = NosanaSandbox(ManualClock(), rng_seed=seed)
        return [d.id for d in api.accounts[api.demo_api_key].deployments]

    assert ids(1) == ids(1)
    assert ids(1) != ids(2)


async def test_a_large_idle_world_stays_cheap(clock: ManualClock, fast_retry: RetryPolicy) -> None:
    api = NosanaSandbox(clock)
    api.add_api_key(KEY)
    api.seed_bulk(KEY, 100_000)
    pending = len(api._heap)
    started = time.perf_counter()
    for _ in range(10_000):
        api.advance()
    assert time.perf_counter() - started < 0.5  # O(1) per request when nothing is due
    assert len(api._heap) == pending
    async with RunningSandbox(api) as running:
        client = NosanaProvider(KEY, base_url=running.base_url, retry=fast_retry)
        cursor = None
        seen: set[str] = set()
        started = time.perf_counter()
        for _ in range(5):
            page = await client.list_page(cursor=cursor, limit=100)
            seen.update(d.id for d in page.items)
            cursor = page.next_cursor
        elapsed = time.perf_counter() - started
        stopped = await client.list_page(status="stopped", limit=100)
        await client.aclose()
    assert len(seen) == 500 and page.total == 100_000
    assert stopped.total == 50_000
    assert elapsed < 5  # five 100-item pages of a 100k world (generous for slow CI)
