"""Contract tests: the NeuraNET client against the emulator served on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from bot.providers.errors import (
    AuthenticationError,
    InsufficientFundsError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
    WrongStateError,
)
from bot.providers.http import RetryPolicy
from bot.providers.models import Capability, DeploymentStatus
from bot.providers.neuranet import NeuraNetCreateSpec, NeuraNetProvider
from sandbox.clock import ManualClock
from sandbox.common import RunningSandbox
from sandbox.neuranet import (
    NODE_A100,
    NODE_A6000_MAINTENANCE,
    NODE_CPU_ONLY,
    NODE_H100,
    NODE_H100_X8_FULL,
    NODE_L4,
    NODE_L40S,
    NODE_RTX3080_OFFLINE,
    NODE_RTX3090,
    NODE_RTX4070TI,
    NODE_RTX4090,
    NODE_RTX4090_X4,
    NeuraNetSandbox,
    SandboxNode,
)


@pytest.fixture
def sandbox(clock: ManualClock) -> NeuraNetSandbox:
    return NeuraNetSandbox(clock, seed=False)


@pytest.fixture
async def served(sandbox: NeuraNetSandbox) -> AsyncIterator[RunningSandbox]:
    async with RunningSandbox(sandbox) as running:
        yield running


@pytest.fixture
async def client(
    served: RunningSandbox, sandbox: NeuraNetSandbox, fast_retry: RetryPolicy
) -> AsyncIterator[NeuraNetProvider]:
    provider = NeuraNetProvider(sandbox.demo_api_key, base_url=served.base_url, retry=fast_retry)
    yield provider
    await provider.aclose()


def ollama(node: str = NODE_RTX4090, **kw: object) -> NeuraNetCreateSpec:
    return NeuraNetCreateSpec.parse({"node_id": node, "template_id": "ollama", **kw})


async def running_deployment(
    client: NeuraNetProvider, clock: ManualClock, node: str = NODE_RTX4090
) -> str:
    created = await client.create(ollama(node))
    clock.advance(30)
    assert (await client.get(created.deployment.id)).status is DeploymentStatus.RUNNING
    return created.deployment.id


# -- auth ----------------------------------------------------------------------------------


async def test_verify_accepts_the_demo_key(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    sandbox.seed_bulk(sandbox.demo_api_key, 3)
    await client.verify()
    assert [(r.method, r.path, r.status) for r in sandbox.requests] == [
        ("GET", "/api/deployments", 200)
    ]


async def test_bad_key_is_an_authentication_error_without_the_key(
    served: RunningSandbox, fast_retry: RetryPolicy
) -> None:
    key = "nn_live_ThisKeyDoesNotExist000000000000"
    async with NeuraNetProvider(key, base_url=served.base_url, retry=fast_retry) as bad:
        with pytest.raises(AuthenticationError) as caught:
            await bad.list_page()
    assert "Invalid API key" in caught.value.message
    assert caught.value.status_code == 401
    assert key not in str(caught.value) and key not in repr(caught.value)
    assert key not in repr(bad)


async def test_missing_key_answer_shape(served: RunningSandbox, client: NeuraNetProvider) -> None:
    async with httpx.AsyncClient() as raw:
        response = await raw.get(served.base_url + "/deployments")
        wrong_scheme = await raw.get(
            served.base_url + "/deployments", headers={"Authorization": "Basic abc"}
        )
    assert response.status_code == 401
    assert response.json() == {"error": "Missing API key"}
    assert wrong_scheme.json() == {"error": "Invalid API key"}
    error = client.map_error(response)
    assert isinstance(error, AuthenticationError)
    assert "Missing API key" in error.message


async def test_echoed_key_is_scrubbed(sandbox: NeuraNetSandbox, client: NeuraNetProvider) -> None:
    key = sandbox.demo_api_key
    sandbox.inject(status=401, body={"error": f"Invalid API key {key}"})
    with pytest.raises(AuthenticationError) as caught:
        await client.list_page()
    assert key not in caught.value.message
    assert key not in (caught.value.provider_text or "")
    assert "[redacted]" in caught.value.message


async def test_accounts_are_isolated(
    sandbox: NeuraNetSandbox,
    served: RunningSandbox,
    client: NeuraNetProvider,
    fast_retry: RetryPolicy,
) -> None:
    created = await client.create(ollama())
    other_key = sandbox.add_api_key("nn_live_OtherTeamKey1234567890abcdefgh")
    async with NeuraNetProvider(other_key, base_url=served.base_url, retry=fast_retry) as other:
        assert await other.list_deployments() == []
        with pytest.raises(NotFoundError, match="Deployment not found"):
            await other.get(created.deployment.id)
        with pytest.raises(NotFoundError):
            await other.stop(created.deployment.id)
        with pytest.raises(NotFoundError):
            await other.delete(created.deployment.id)
    assert (await client.get(created.deployment.id)).status is DeploymentStatus.PENDING


# -- create --------------------------------------------------------------------------------


async def test_create_from_a_template(sandbox: NeuraNetSandbox, client: NeuraNetProvider) -> None:
    result = await client.create(
        ollama(name="my-ollama-server", env={"OLLAMA_MODELS": "llama2,mistral"})
    )
    deployment = result.deployment
    assert result.estimated_cost_per_hour_usd == Decimal("1.50")
    assert deployment.status is DeploymentStatus.PENDING and deployment.raw_status == "pending"
    assert deployment.name == "my-ollama-server"
    assert deployment.cost_per_hour_usd == Decimal("1.50")
    assert deployment.total_cost_usd == Decimal("0")
    assert deployment.endpoints == ()
    assert deployment.created_at is not None and deployment.created_at.tzinfo is not None
    assert deployment.extras["node_id"] == NODE_RTX4090
    assert deployment.extras["template_id"] == "ollama"
    assert deployment.extras["env_keys"] == ["OLLAMA_MODELS"]
    assert "llama2,mistral" not in json.dumps(deployment.extras)  # env values stay out
    stored = sandbox.deployment(deployment.id)
    assert stored.env == {"OLLAMA_MODELS": "llama2,mistral"}
    assert stored.node_id == NODE_RTX4090
    assert sandbox.nodes[NODE_RTX4090].own_load == 1


async def test_create_from_a_custom_image(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider, clock: ManualClock
) -> None:
    result = await client.create(
        NeuraNetCreateSpec(
            node_id=NODE_L4, custom_image="ghcr.io/acme/api:1.4.2", env={"PORT": "9000"}
        )
    )
    assert result.deployment.extras["custom_image"] == "ghcr.io/acme/api:1.4.2"
    assert result.deployment.extras["template_id"] is None
    clock.advance(60)
    deployment = await client.get(result.deployment.id)
    assert deployment.status is DeploymentStatus.RUNNING
    assert [(e.url, e.port, e.label) for e in deployment.endpoints] == [
        (f"https://{deployment.id.replace('_', '-')}.neuranet.network", 9000, "https")
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"node_id": NODE_L4}, "template_id"),
        ({"node_id": NODE_L4, "template_id": "ollama", "custom_image": "nginx"}, "template_id"),
        ({"node_id": "", "template_id": "ollama"}, "node_id"),
        ({"node_id": NODE_L4, "custom_image": "Not An Image!"}, "custom_image"),
        ({"node_id": NODE_L4, "template_id": "ollama", "env": {"1BAD": "x"}}, "env.1BAD"),
        ({"node_id": NODE_L4, "template_id": "ollama", "name": "x" * 65}, "name"),
        ({"node_id": NODE_L4, "template_id": "ollama", "env": {"A": 1}}, "env.A"),
        ({"template_id": "ollama"}, "node_id"),
    ],
)
async def test_create_is_checked_locally_before_sending(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider, data: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await client.create(data)  # type: ignore[arg-type]
    assert field in caught.value.field_errors
    assert sandbox.count("POST") == 0


async def test_create_with_an_unknown_template_has_field_details(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    with pytest.raises(ValidationError) as caught:
        await client.create(ollama(template_id="text-to-banana"))
    assert caught.value.status_code == 400
    assert "Unknown template 'text-to-banana'" in caught.value.field_errors["template_id"]
    assert "Validation failed" in caught.value.message
    assert sandbox.count("POST", "/api/deployments") == 1


@pytest.mark.parametrize(
    ("node", "why"),
    [
        (NODE_RTX3080_OFFLINE, "status: offline"),
        (NODE_A6000_MAINTENANCE, "status: maintenance"),
        (NODE_H100_X8_FULL, "at capacity: 2/2"),
    ],
)
async def test_create_on_a_node_that_cannot_take_it(
    client: NeuraNetProvider, node: str, why: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await client.create(ollama(node))
    assert caught.value.status_code == 409
    assert f"Node {node} is not accepting deployments" in caught.value.field_errors["node_id"]
    assert why in caught.value.message
    assert "Pick another node" in caught.value.message


async def test_create_on_an_unknown_node(client: NeuraNetProvider) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.create(ollama("node_doesnotexist"))
    assert caught.value.message == "NeuraNET has no such node: “Node not found”."


async def test_create_without_enough_balance(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    sandbox.set_balance(sandbox.demo_api_key, 100)
    with pytest.raises(InsufficientFundsError) as caught:
        await client.create(ollama())  # 150 cents/hour
    assert "Insufficient balance" in caught.value.message
    assert caught.value.status_code == 402
    assert sandbox.deployments == {}
    await client.create(ollama(NODE_RTX3090))  # 90 cents/hour fits


async def test_create_is_never_resent_after_a_server_error(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    sandbox.inject(method="POST", path="/api/deployments", status=502, body="Bad Gateway")
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.create(ollama())
    assert sandbox.count("POST", "/api/deployments") == 1
    assert "may or may not" in caught.value.message
    assert isinstance(caught.value, UnavailableError)


async def test_create_is_retried_after_429(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    sandbox.inject(method="POST", path="/api/deployments", status=429, headers={"Retry-After": "0"})
    result = await client.create(ollama())
    assert sandbox.count("POST", "/api/deployments") == 2
    assert len(sandbox.deployments) == 1
    assert result.deployment.id in sandbox.deployments


# -- list ----------------------------------------------------------------------------------


async def test_list_walks_pages_newest_first(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    ids = sandbox.seed_bulk(sandbox.demo_api_key, 250)
    first = await client.list_page(limit=100)
    assert first.total == 250 and first.next_cursor == "2"
    assert [d.id for d in first.items] == ids[::-1][:100]
    second = await client.list_page(cursor=first.next_cursor, limit=100)
    third = await client.list_page(cursor=second.next_cursor, limit=100)
    assert [d.id for d in second.items] == ids[::-1][100:200]
    assert len(third.items) == 50 and third.next_cursor is None
    everything = await client.list_deployments()
    assert [d.id for d in everything] == ids[::-1]


async def test_list_small_pages_and_the_status_filter(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    sandbox.seed_bulk(sandbox.demo_api_key, 30, statuses=("running", "stopped", "failed"))
    page = await client.list_page(limit=7, status="running")
    assert page.total == 10 and page.next_cursor == "2"
    assert {d.status for d in page.items} == {DeploymentStatus.RUNNING}
    running = await client.list_deployments(status="running")
    assert len(running) == 10 and len({d.id for d in running}) == 10
    assert all(d.endpoints for d in running)
    assert len(await client.list_deployments(status="failed")) == 10
    assert await client.list_deployments(status="no-such-status") == []


async def test_list_clamps_the_page_size_to_the_api_maximum(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    sandbox.seed_bulk(sandbox.demo_api_key, 120)
    page = await client.list_page(limit=500)
    assert len(page.items) == 100
    sent = [r for r in sandbox.requests if r.path == "/api/deployments"]
    assert len(sent) == 1 and "limit=100" in sent[0].query


async def test_list_rejects_a_foreign_cursor(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    with pytest.raises(ValidationError) as caught:
        await client.list_page(cursor="eyJvZmZzZXQiOjEwfQ==")
    assert "cursor" in caught.value.field_errors
    assert sandbox.count() == 0


async def test_list_of_an_empty_account(client: NeuraNetProvider) -> None:
    page = await client.list_page()
    assert page.items == [] and page.next_cursor is None and page.total == 0


async def test_server_rejects_limits_above_100(served: RunningSandbox) -> None:
    async with httpx.AsyncClient() as raw:
        response = await raw.get(
            served.base_url + "/deployments",
            params={"limit": "101"},
            headers={"Authorization": f"Bearer {NeuraNetSandbox.DEMO_API_KEY}"},
        )
    assert response.status_code == 400
    assert "limit" in response.json()["error"]


# -- get, unknown statuses, costs ----------------------------------------------------------


async def test_get_an_unknown_deployment(client: NeuraNetProvider) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.get("dep_nothere")
    assert "Deployment not found" in caught.value.message
    assert caught.value.status_code == 404


async def test_an_unknown_status_is_shown_verbatim(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    created = await client.create(ollama())
    sandbox.force_status(created.deployment.id, "Migrating-To-Node")
    deployment = await client.get(created.deployment.id)
    assert deployment.status is DeploymentStatus.UNKNOWN
    assert deployment.raw_status == "Migrating-To-Node"
    assert deployment.cost_per_hour_usd is None
    assert client.available_actions(deployment) == {Capability.DELETE, Capability.LOGS}
    listed = await client.list_deployments()
    assert [d.raw_status for d in listed] == ["Migrating-To-Node"]
    with pytest.raises(WrongStateError, match="cannot be stopped while Migrating-To-Node"):
        await client.stop(created.deployment.id)


async def test_cost_accumulates_while_running_only(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider, clock: ManualClock
) -> None:
    dep_id = await running_deployment(client, clock)
    started = sandbox.deployment(dep_id).started_at
    assert started is not None
    clock.set(started + 3600)
    running = await client.get(dep_id)
    assert running.total_cost_usd == Decimal("1.50")
    assert running.cost_per_hour_usd == Decimal("1.50")
    stopped = await client.stop(dep_id)
    clock.advance(7200)
    stopped = await client.get(dep_id)
    assert stopped.status is DeploymentStatus.STOPPED
    assert stopped.total_cost_usd == Decimal("1.50")
    assert stopped.cost_per_hour_usd == Decimal("0")
    assert stopped.extras["node_hourly_rate_usd"] == "1.50"


async def test_node_prices_are_cached(sandbox: NeuraNetSandbox, client: NeuraNetProvider) -> None:
    created = await client.create(ollama())
    for _ in range(3):
        await client.get(created.deployment.id)
    await client.list_page()
    assert sandbox.count("GET", "/api/nodes/.*") == 1
    assert sandbox.count("GET", "/api/nodes") == 0


async def test_deployments_still_load_when_node_prices_do_not(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    created = await client.create(ollama())
    sandbox.inject(method="GET", path="/api/nodes/.*", status=503, times=10)
    deployment = await client.get(created.deployment.id)
    assert deployment.status is DeploymentStatus.PENDING
    assert deployment.cost_per_hour_usd is None


# -- start / stop --------------------------------------------------------------------------


async def test_stop_and_start_follow_the_state_machine(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider, clock: ManualClock
) -> None:
    dep_id = await running_deployment(client, clock)
    with pytest.raises(WrongStateError, match="Deployment is already running"):
        await client.start(dep_id)

    stopping = await client.stop(dep_id)
    assert stopping.status is DeploymentStatus.STOPPING
    assert client.available_actions(stopping) == {Capability.DELETE, Capability.LOGS}
    with pytest.raises(WrongStateError, match="already stopping"):
        await client.stop(dep_id)

    clock.advance(10)
    stopped = await client.get(dep_id)
    assert stopped.status is DeploymentStatus.STOPPED and stopped.endpoints == ()
    assert client.available_actions(stopped) == {
        Capability.START,
        Capability.DELETE,
        Capability.LOGS,
    }
    with pytest.raises(WrongStateError) as caught:
        await client.stop(dep_id)
    assert caught.value.status_code == 409
    assert "Deployment is not running (status: stopped)" in caught.value.message

    starting = await client.start(dep_id)
    assert starting.status is DeploymentStatus.STARTING
    clock.advance(30)
    assert (await client.get(dep_id)).status is DeploymentStatus.RUNNING
    assert sandbox.count("POST", "/api/deployments/.*/(start|stop)") == 5


async def test_stop_while_pending(client: NeuraNetProvider, clock: ManualClock) -> None:
    created = await client.create(ollama())
    assert Capability.STOP in client.available_actions(created.deployment)
    stopping = await client.stop(created.deployment.id)
    assert stopping.status is DeploymentStatus.STOPPING
    clock.advance(60)
    assert (await client.get(created.deployment.id)).status is DeploymentStatus.STOPPED


async def test_a_failed_deployment_can_be_started_again(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider, clock: ManualClock
) -> None:
    dep_id = await running_deployment(client, clock)
    sandbox.fail(dep_id, "CUDA error: an illegal memory access was encountered")
    failed = await client.get(dep_id)
    assert failed.status is DeploymentStatus.FAILED and failed.raw_status == "failed"
    assert Capability.START in client.available_actions(failed)
    logs = await client.logs(dep_id, tail=1)
    assert logs[0].stream == "stderr" and "illegal memory access" in logs[0].message
    assert (await client.start(dep_id)).status is DeploymentStatus.STARTING


async def test_start_on_a_node_that_went_offline(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider, clock: ManualClock
) -> None:
    dep_id = await running_deployment(client, clock)
    sandbox.set_node_status(NODE_RTX4090, "offline")
    assert (await client.get(dep_id)).status is DeploymentStatus.FAILED
    with pytest.raises(ValidationError) as caught:
        await client.start(dep_id)
    assert "status: offline" in caught.value.field_errors["node_id"]


async def test_start_without_enough_balance(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider, clock: ManualClock
) -> None:
    dep_id = await running_deployment(client, clock)
    await client.stop(dep_id)
    clock.advance(10)
    sandbox.set_balance(sandbox.demo_api_key, 0)
    with pytest.raises(InsufficientFundsError):
        await client.start(dep_id)


async def test_stop_is_not_resent_after_a_server_error(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider, clock: ManualClock
) -> None:
    dep_id = await running_deployment(client, clock)
    sandbox.inject(method="POST", path="/api/deployments/.*/stop", status=500)
    with pytest.raises(OutcomeUnknownError):
        await client.stop(dep_id)
    assert sandbox.count("POST", "/api/deployments/.*/stop") == 1
    assert sandbox.deployment(dep_id).status == "running"


# -- delete --------------------------------------------------------------------------------


async def test_delete_in_any_state_frees_the_node(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider, clock: ManualClock
) -> None:
    dep_id = await running_deployment(client, clock)
    assert sandbox.nodes[NODE_RTX4090].own_load == 1
    assert await client.delete(dep_id) is None
    assert sandbox.nodes[NODE_RTX4090].own_load == 0
    with pytest.raises(NotFoundError):
        await client.get(dep_id)
    with pytest.raises(NotFoundError):
        await client.delete(dep_id)
    assert sandbox.count("DELETE") == 2


async def test_delete_reporting_failure(sandbox: NeuraNetSandbox, client: NeuraNetProvider) -> None:
    created = await client.create(ollama())
    sandbox.inject(
        method="DELETE", status=200, body={"success": False, "message": "Deployment is locked"}
    )
    with pytest.raises(WrongStateError, match="Deployment is locked"):
        await client.delete(created.deployment.id)


async def test_delete_is_not_resent_after_a_server_error(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    created = await client.create(ollama())
    sandbox.inject(method="DELETE", status=503, body={"message": "upstream timeout"})
    with pytest.raises(OutcomeUnknownError, match="upstream timeout"):
        await client.delete(created.deployment.id)
    assert sandbox.count("DELETE") == 1


async def test_ids_are_checked_before_they_reach_a_url(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    for bad in ("", "../nodes", "dep 1", "dep/1"):
        with pytest.raises(ValidationError) as caught:
            await client.delete(bad)
        assert "deployment_id" in caught.value.field_errors
    assert sandbox.count() == 0


# -- logs ----------------------------------------------------------------------------------


async def test_logs_tail_and_since(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider, clock: ManualClock
) -> None:
    dep_id = await running_deployment(client, clock)
    clock.advance(600)
    lines = await client.logs(dep_id)
    assert 30 < len(lines) <= 100
    assert all(line.timestamp is not None for line in lines)
    stamps = [line.timestamp for line in lines]
    assert stamps == sorted(stamps)  # type: ignore[type-var]
    assert {line.stream for line in lines} == {"stdout", "stderr"}
    assert any("Server started on port 11434" in line.message for line in lines)
    assert any("[GIN]" in line.message for line in lines)

    assert [line.message for line in await client.logs(dep_id, tail=5)] == [
        line.message for line in lines[-5:]
    ]
    cut = lines[-3].timestamp
    assert cut is not None
    recent = await client.logs(dep_id, since=cut)
    assert [line.message for line in recent] == [line.message for line in lines[-3:]]
    later = await client.logs(dep_id, since=cut.astimezone(UTC) + timedelta(hours=1))
    assert later == []
    assert "since=" in sandbox.requests[-1].query and "Z" in sandbox.requests[-1].query


async def test_logs_of_a_new_deployment_show_no_future_lines(
    client: NeuraNetProvider, clock: ManualClock
) -> None:
    created = await client.create(ollama())
    lines = await client.logs(created.deployment.id)
    assert [line.message for line in lines] == [
        f"Deployment {created.deployment.id} scheduled on node {NODE_RTX4090}"
    ]
    clock.advance(4)  # starting: the image pull shows, the rest of the boot not yet
    messages = [line.message for line in await client.logs(created.deployment.id)]
    assert any(m.startswith("Pulling image ollama/ollama") for m in messages)
    assert not any("Server started" in m for m in messages)


async def test_logs_arguments_are_checked_locally(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    with pytest.raises(ValidationError) as caught:
        await client.logs("dep_x", tail=0, since=datetime(2026, 1, 1))
    assert set(caught.value.field_errors) == {"tail", "since"}
    assert sandbox.count() == 0


async def test_logs_of_an_unknown_deployment(client: NeuraNetProvider) -> None:
    with pytest.raises(NotFoundError):
        await client.logs("dep_nothere")


# -- nodes ---------------------------------------------------------------------------------


async def test_nodes_without_filters(client: NeuraNetProvider) -> None:
    nodes = await client.nodes()
    assert len(nodes) == 12
    by_id = {n.id: n for n in nodes}
    rig = by_id[NODE_RTX4090]
    assert rig.name == "Brooklyn 4090 Rig"
    assert rig.price_per_hour_usd == Decimal("1.50")
    assert rig.gpu == "NVIDIA GeForce RTX 4090" and rig.vram_mb == 24576
    assert rig.region == "us-east" and rig.status == "online" and rig.load == "1/5"
    assert rig.extras["accepting"] is True
    assert by_id[NODE_A100].gpu == "2x NVIDIA A100 80GB PCIe"
    assert by_id[NODE_H100_X8_FULL].extras["accepting"] is False
    assert by_id[NODE_CPU_ONLY].gpu is None and by_id[NODE_CPU_ONLY].vram_mb is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": "online"}, 10),
        ({"status": "maintenance"}, 1),
        ({"has_gpu": False}, 1),
        ({"hasGpu": True}, 11),
        ({"min_gpu_vram_mb": 40_000}, 5),
        ({"max_hourly_rate_usd": Decimal("1.00")}, 5),
        ({"max_hourly_rate_usd": Decimal("0.899")}, 4),  # rounds down: the 90¢ node is out
        ({"max_hourly_rate_cents": 90}, 5),
        ({"region": "eu-west"}, 2),
        ({"min_cpu_cores": 64}, 2),
        ({"min_ram_mb": 256 * 1024}, 5),
        ({"status": "online", "min_gpu_vram_mb": 40_000, "max_hourly_rate_usd": 5}, 3),
    ],
)
async def test_node_filters(
    client: NeuraNetProvider, filters: dict[str, object], expected: int
) -> None:
    nodes = await client.nodes(**filters)
    assert len(nodes) == expected


async def test_node_filters_reach_the_wire_and_select_the_right_nodes(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    nodes = await client.nodes(status="online", min_gpu_vram_mb=40_000, max_hourly_rate_usd="4")
    assert {n.id for n in nodes} == {NODE_H100, NODE_L40S}
    query = sandbox.requests[-1].query
    for part in ("status=online", "minGpuVram=40000", "maxHourlyRate=400"):
        assert part in query
    cheap = await client.nodes(max_hourly_rate_usd=Decimal("0.70"), has_gpu=True)
    assert {n.id for n in cheap} == {NODE_L4, NODE_RTX4070TI, NODE_RTX3080_OFFLINE}
    big = await client.nodes(min_cpu_cores=32, min_ram_mb=256 * 1024, region="us-west")
    assert [n.id for n in big] == [NODE_RTX4090_X4]
    assert {n.id for n in await client.nodes(status="offline")} == {NODE_RTX3080_OFFLINE}
    assert NODE_RTX3090 in {n.id for n in await client.nodes(region="US-CENTRAL")}


@pytest.mark.parametrize(
    "filters",
    [{"gpu": "4090"}, {"status": "busy"}, {"min_gpu_vram_mb": -1}, {"max_hourly_rate_usd": "x"}],
)
async def test_bad_node_filters_are_refused_locally(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider, filters: dict[str, object]
) -> None:
    with pytest.raises(ValidationError) as caught:
        await client.nodes(**filters)
    assert set(caught.value.field_errors) == set(filters)
    assert sandbox.count() == 0


async def test_nodes_walk_every_page(sandbox: NeuraNetSandbox, client: NeuraNetProvider) -> None:
    template = sandbox.nodes[NODE_L4]
    for i in range(230):
        sandbox.nodes[f"node_extra{i:04d}"] = SandboxNode(
            id=f"node_extra{i:04d}",
            name=f"Extra {i}",
            status="online",
            region="eu-north",
            country="SE",
            hourly_rate_cents=50 + i,
            max_deployments=2,
            uptime_percent=99.0,
            specs=dict(template.specs),
            gpus=[dict(g) for g in template.gpus],
            operator_id="op_extra",
        )
    nodes = await client.nodes()
    assert len(nodes) == 242 and len({n.id for n in nodes}) == 242
    assert sandbox.count("GET", "/api/nodes") == 3
    assert len(await client.nodes(region="eu-north", max_hourly_rate_cents=99)) == 50


async def test_node_detail(client: NeuraNetProvider) -> None:
    node = await client.node(NODE_H100)
    assert node.name == "Tokyo H100" and node.region == "ap-northeast"
    assert node.price_per_hour_usd == Decimal("3.89")
    assert node.extras["operator_id"].startswith("op_")
    assert node.extras["specs"]["os"].startswith("Ubuntu")
    assert node.extras["gpus"][0]["driverVersion"]
    json.dumps(node.extras)  # JSON-safe
    with pytest.raises(NotFoundError, match="no such node"):
        await client.node("node_missing")


# -- provider error shapes -----------------------------------------------------------------


async def test_a_5xx_on_a_read_is_retried(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    sandbox.inject(method="GET", path="/api/deployments", status=503, times=2)
    page = await client.list_page()
    assert page.items == []
    assert sandbox.count("GET", "/api/deployments") == 3


async def test_a_persistent_5xx_is_unavailable(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    sandbox.inject(method="GET", status=500, body={"error": "Internal server error"}, times=4)
    with pytest.raises(UnavailableError) as caught:
        await client.list_page()
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert "Internal server error" in caught.value.message
    assert sandbox.count() == 4


async def test_rate_limiting_is_reported(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    sandbox.inject(method="GET", status=429, headers={"Retry-After": "0"}, times=4)
    with pytest.raises(RateLimitedError):
        await client.list_page()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, "Bad things happened", (ValidationError, "Bad things happened")),
        (409, {"message": "Deployment is locked"}, (WrongStateError, "Deployment is locked")),
        (400, {"error": "Deployment is not running"}, (WrongStateError, "not running")),
        (400, {"message": "Insufficient credits"}, (InsufficientFundsError, "Insufficient")),
        (502, "<html><body>502 Bad Gateway</body></html>", (UnavailableError, "Bad Gateway")),
    ],
)
async def test_error_bodies_of_every_shape(
    sandbox: NeuraNetSandbox,
    client: NeuraNetProvider,
    status: int,
    body: object,
    expected: tuple[type[Exception], str],
) -> None:
    kind, text = expected
    sandbox.inject(method="GET", status=status, body=body, times=4)
    with pytest.raises(kind) as caught:
        await client.get("dep_any")
    assert text in str(caught.value)
    assert "\n" not in str(caught.value)


async def test_a_non_json_success_is_unavailable(
    sandbox: NeuraNetSandbox, client: NeuraNetProvider
) -> None:
    sandbox.inject(method="GET", status=200, body="<html>maintenance</html>")
    with pytest.raises(UnavailableError, match="not JSON"):
        await client.list_page()
