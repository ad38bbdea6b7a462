"""NeuraNET lifecycle: create → logs → stop → start → delete, with time moved by a ManualClock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from bot.providers.errors import NotFoundError
from bot.providers.http import RetryPolicy
from bot.providers.models import Capability, DeploymentStatus
from bot.providers.neuranet import NeuraNetCreateSpec, NeuraNetProvider
from sandbox.clock import ManualClock
from sandbox.common import RunningSandbox
from sandbox.neuranet import NODE_A100, PENDING_SECONDS, STOPPING_SECONDS, NeuraNetSandbox


@pytest.fixture
async def world(
    clock: ManualClock, fast_retry: RetryPolicy
) -> AsyncIterator[tuple[NeuraNetSandbox, NeuraNetProvider]]:
    sandbox = NeuraNetSandbox(clock, seed=True, rng_seed=7)
    async with RunningSandbox(sandbox) as running:
        client = NeuraNetProvider(sandbox.demo_api_key, base_url=running.base_url, retry=fast_retry)
        yield sandbox, client
        await client.aclose()


async def test_create_logs_stop_start_delete(
    world: tuple[NeuraNetSandbox, NeuraNetProvider], clock: ManualClock
) -> None:
    sandbox, client = world
    node = sandbox.nodes[NODE_A100]
    load_before = node.active_deployments
    demo_ids = {d.id for d in await client.list_deployments()}
    assert len(demo_ids) == 5

    # create: pending, holding a slot on the node, priced at the node's rate ($4.20/h)
    result = await client.create(
        NeuraNetCreateSpec(
            node_id=NODE_A100,
            template_id="vllm",
            name="mistral-chat",
            env={"MODEL": "mistralai/Mistral-7B-Instruct-v0.3"},
        )
    )
    dep_id = result.deployment.id
    assert result.estimated_cost_per_hour_usd == Decimal("4.20")
    assert result.deployment.status is DeploymentStatus.PENDING
    assert node.active_deployments == load_before + 1
    assert {d.id for d in await client.list_deployments()} == demo_ids | {dep_id}

    # pending → starting after a few seconds, → running after vLLM's boot (25 s)
    clock.advance(PENDING_SECONDS)
    starting = await client.get(dep_id)
    assert starting.status is DeploymentStatus.STARTING and starting.endpoints == ()
    clock.advance(25)
    running = await client.get(dep_id)
    assert running.status is DeploymentStatus.RUNNING
    assert running.started_at is not None
    assert [(e.url, e.port) for e in running.endpoints] == [
        (f"https://dep-{dep_id.removeprefix('dep_')}.neuranet.network", 8000)
    ]
    assert client.available_actions(running) == {
        Capability.STOP,
        Capability.DELETE,
        Capability.LOGS,
    }
    running_ids = {d.id for d in await client.list_deployments(status="running")}
    assert dep_id in running_ids

    # logs: boot, ready and periodic lines, with the model from env
    clock.advance(30 * 60)
    lines = await client.logs(dep_id, tail=500)
    messages = [line.message for line in lines]
    assert any("vLLM API server version" in m for m in messages)
    assert any("model='mistralai/Mistral-7B-Instruct-v0.3'" in m for m in messages)
    assert any("Uvicorn running on http://0.0.0.0:8000" in m for m in messages)
    assert sum("HTTP/1.1" in m or "throughput" in m or "tokens" in m for m in messages) > 50
    assert len(await client.logs(dep_id)) == 100  # the server's default tail

    # half an hour at $4.20/h
    assert (await client.get(dep_id)).total_cost_usd == Decimal("2.10")

    # stop → stopping → stopped; the slot is released, cost stops growing
    stopping = await client.stop(dep_id)
    assert stopping.status is DeploymentStatus.STOPPING
    clock.advance(STOPPING_SECONDS)
    stopped = await client.get(dep_id)
    assert stopped.status is DeploymentStatus.STOPPED and stopped.endpoints == ()
    assert node.active_deployments == load_before
    clock.advance(3600)
    assert (await client.get(dep_id)).total_cost_usd == Decimal("2.10")
    assert (await client.logs(dep_id, tail=1))[0].message == "Container exited with code 0"

    # start → starting → running again, billed again
    assert (await client.start(dep_id)).status is DeploymentStatus.STARTING
    assert node.active_deployments == load_before + 1
    clock.advance(30)
    again = await client.get(dep_id)
    assert again.status is DeploymentStatus.RUNNING
    assert again.started_at is not None and again.started_at > running.started_at
    clock.advance(600)
    assert (await client.get(dep_id)).total_cost_usd == Decimal("2.80")

    # delete (stops it first) → gone
    assert await client.delete(dep_id) is None
    assert node.active_deployments == load_before
    with pytest.raises(NotFoundError):
        await client.get(dep_id)
    with pytest.raises(NotFoundError):
        await client.logs(dep_id)
    assert {d.id for d in await client.list_deployments()} == demo_ids


async def test_the_demo_world_moves_on_its_own(
    world: tuple[NeuraNetSandbox, NeuraNetProvider], clock: ManualClock
) -> None:
    _, client = world
    before = {d.name: d for d in await client.list_deployments()}
    assert {name: d.raw_status for name, d in before.items()} == {
        "llama-chat": "running",
        "mistral-api": "starting",
        "sdxl-studio": "stopped",
        "trainer-v2": "failed",
        "research-notebook": "pending",
    }
    clock.advance(120)
    after = {d.name: d.status for d in await client.list_deployments()}
    assert after["mistral-api"] is DeploymentStatus.RUNNING
    assert after["research-notebook"] is DeploymentStatus.RUNNING
    assert after["sdxl-studio"] is DeploymentStatus.STOPPED
    failed_logs = await client.logs(before["trainer-v2"].id, tail=1)
    assert "CUDA error: out of memory" in failed_logs[0].message
    cost_before = before["llama-chat"].total_cost_usd
    cost_after = (await client.get(before["llama-chat"].id)).total_cost_usd
    assert cost_before is not None and cost_after is not None and cost_after > cost_before
