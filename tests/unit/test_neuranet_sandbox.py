"""The NeuraNET emulator itself: its state machine, indexes, logs and wire shapes."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from sandbox.clock import DEFAULT_START, ManualClock
from sandbox.common import RunningSandbox
from sandbox.neuranet import (
    LOG_INTERVAL,
    MAX_LOG_LINES,
    NODE_A100,
    NODE_CPU_ONLY,
    NODE_L4,
    NODE_RTX4090,
    PENDING_SECONDS,
    STOPPING_SECONDS,
    TEMPLATES,
    NeuraNetSandbox,
    iso_ms,
)


@pytest.fixture
def sandbox(clock: ManualClock) -> NeuraNetSandbox:
    return NeuraNetSandbox(clock, seed=False)


def tick(sandbox: NeuraNetSandbox, clock: ManualClock, seconds: float) -> None:
    clock.advance(seconds)
    sandbox.advance()


# -- state machine -------------------------------------------------------------------------


def test_transitions_happen_at_their_due_time_even_when_seen_late(
    sandbox: NeuraNetSandbox, clock: ManualClock
) -> None:
    dep = sandbox.create_deployment(sandbox.demo_api_key, NODE_RTX4090, template_id="ollama")
    created = dep.created_at
    assert dep.status == "pending"
    tick(sandbox, clock, PENDING_SECONDS - 0.001)
    assert dep.status == "pending"
    tick(sandbox, clock, 0.001)
    assert dep.status == "starting"
    tick(sandbox, clock, 3600)  # nobody looked for an hour
    assert dep.status == "running"
    boot = TEMPLATES["ollama"].boot_seconds
    assert dep.started_at == created + PENDING_SECONDS + boot
    assert dep.total_cost_cents(clock.now()) == int((3600 - boot) * 150 / 3600)


def test_an_idle_world_has_nothing_to_do(sandbox: NeuraNetSandbox, clock: ManualClock) -> None:
    dep = sandbox.create_deployment(sandbox.demo_api_key, NODE_L4, template_id="jupyter")
    tick(sandbox, clock, 60)
    assert dep.status == "running"
    assert sandbox._heap == []
    sandbox.seed_bulk(sandbox.demo_api_key, 1000)
    assert sandbox._heap == []


def test_a_superseded_transition_is_ignored(sandbox: NeuraNetSandbox, clock: ManualClock) -> None:
    dep = sandbox.create_deployment(sandbox.demo_api_key, NODE_L4, template_id="ollama")
    sandbox.force_status(dep.id, "stopping")  # the pending → starting timer is now void
    tick(sandbox, clock, STOPPING_SECONDS)
    assert dep.status == "stopped"
    tick(sandbox, clock, 600)
    assert dep.status == "stopped" and dep.started_at is None


def test_node_slots_follow_the_status(sandbox: NeuraNetSandbox, clock: ManualClock) -> None:
    node = sandbox.nodes[NODE_A100]
    base = node.active_deployments
    a = sandbox.create_deployment(sandbox.demo_api_key, NODE_A100, template_id="vllm")
    b = sandbox.create_deployment(sandbox.demo_api_key, NODE_A100, custom_image="x/y:1")
    assert node.active_deployments == base + 2
    sandbox.fail(a.id)
    assert node.active_deployments == base + 1
    sandbox.force_status(a.id, "odd-status")  # unknown statuses hold their slot
    assert node.active_deployments == base + 2
    sandbox.force_status(b.id, "stopped")
    sandbox.force_status(a.id, "stopped")
    assert node.active_deployments == base
    sandbox.seed_bulk(sandbox.demo_api_key, 50, statuses=("running",))
    assert node.active_deployments == base


def test_a_node_going_offline_fails_its_deployments(
    sandbox: NeuraNetSandbox, clock: ManualClock
) -> None:
    here = sandbox.create_deployment(sandbox.demo_api_key, NODE_L4, template_id="comfyui")
    there = sandbox.create_deployment(sandbox.demo_api_key, NODE_A100, template_id="comfyui")
    tick(sandbox, clock, 30)
    sandbox.set_node_status(NODE_L4, "maintenance")
    assert here.status == "failed" and there.status == "running"
    assert sandbox.nodes[NODE_L4].own_load == 0
    assert sandbox.visible_logs(here, tail=1)[0][2] == f"Node {NODE_L4} went maintenance"


def test_create_helper_refuses_nonsense(sandbox: NeuraNetSandbox) -> None:
    with pytest.raises(ValueError):
        sandbox.create_deployment(sandbox.demo_api_key, NODE_L4)
    with pytest.raises(ValueError):
        sandbox.create_deployment(sandbox.demo_api_key, NODE_L4, template_id="nope")


# -- listing indexes -----------------------------------------------------------------------


def test_indexes_stay_consistent_through_random_changes(
    sandbox: NeuraNetSandbox, clock: ManualClock
) -> None:
    key = sandbox.demo_api_key
    rng = random.Random(4)
    ids = sandbox.seed_bulk(key, 300)
    for _ in range(200):
        ids.append(sandbox.create_deployment(key, NODE_CPU_ONLY, custom_image="busybox").id)
    for _ in range(400):
        dep_id = rng.choice(ids)
        if dep_id not in sandbox.deployments:
            continue
        action = rng.random()
        if action < 0.1:
            account = sandbox.accounts[key]
            account.listing.remove(sandbox.deployments.pop(dep_id))
        else:
            sandbox.force_status(dep_id, rng.choice(["running", "stopped", "failed", "weird"]))
        tick(sandbox, clock, rng.random() * 5)
    listing = sandbox.accounts[key].listing
    assert [d.seq for d in listing.all] == sorted(d.seq for d in listing.all)
    assert {d.id for d in listing.all} == set(sandbox.deployments)
    for status, items in listing.by_status.items():
        assert items == [d for d in listing.all if d.status == status]
    assert sum(len(items) for items in listing.by_status.values()) == len(listing.all)


def test_bulk_seeding_and_paging_are_fast(sandbox: NeuraNetSandbox) -> None:
    key = sandbox.add_api_key()
    started = time.perf_counter()
    ids = sandbox.seed_bulk(key, 100_000)
    assert time.perf_counter() - started < 10
    listing = sandbox.accounts[key].listing
    started = time.perf_counter()
    first, total = listing.page(None, 1, 100)
    last, _ = listing.page(None, 1000, 100)
    beyond, _ = listing.page(None, 1001, 100)
    running, running_total = listing.page("running", 2, 100)
    assert time.perf_counter() - started < 0.05
    assert total == 100_000 and [d.id for d in first] == ids[::-1][:100]
    assert [d.id for d in last] == ids[::-1][-100:] and beyond == []
    assert running_total == 33_334 and all(d.status == "running" for d in running)
    assert len(set(ids)) == 100_000
    assert sandbox.deployments_of(sandbox.demo_api_key) == []


# -- logs ----------------------------------------------------------------------------------


def test_logs_are_capped_and_cheap_after_a_long_run(
    sandbox: NeuraNetSandbox, clock: ManualClock
) -> None:
    dep = sandbox.create_deployment(sandbox.demo_api_key, NODE_L4, template_id="tgi")
    tick(sandbox, clock, 30 * 86_400)
    started = time.perf_counter()
    lines = sandbox.visible_logs(dep, tail=MAX_LOG_LINES * 2)
    assert time.perf_counter() - started < 2
    assert len(lines) == MAX_LOG_LINES
    assert lines[-1][0] <= clock.now() * 1000
    assert clock.now() * 1000 - lines[-1][0] < LOG_INTERVAL * 1000


def test_logs_of_several_runs_stay_in_time_order(
    sandbox: NeuraNetSandbox, clock: ManualClock
) -> None:
    dep = sandbox.create_deployment(sandbox.demo_api_key, NODE_L4, template_id="comfyui")
    tick(sandbox, clock, 300)
    sandbox.force_status(dep.id, "stopping")
    tick(sandbox, clock, 300)
    sandbox.force_status(dep.id, "starting")
    tick(sandbox, clock, 300)
    lines = sandbox.visible_logs(dep, tail=1000)
    stamps = [t for t, _, _ in lines]
    assert stamps == sorted(stamps)
    messages = [m for _, _, m in lines]
    assert messages.count("Starting server") == 2
    assert "Stopping container (SIGTERM)" in messages
    assert messages.index("Container exited with code 0") < messages.index("Starting server", 10)
    # no periodic line while it was stopped
    stopped_at = next(t for t, _, m in lines if m == "Container exited with code 0")
    restarted = next(t for t, _, m in lines if m.startswith("Pulling image") and t > stopped_at)
    assert not any(stopped_at < t < restarted for t, _, _ in lines)


def test_logs_since_and_tail(sandbox: NeuraNetSandbox, clock: ManualClock) -> None:
    dep = sandbox.create_deployment(sandbox.demo_api_key, NODE_L4, template_id="ollama")
    tick(sandbox, clock, 1000)
    everything = sandbox.visible_logs(dep, tail=10_000)
    pivot = everything[20][0]
    since = sandbox.visible_logs(dep, since_ms=pivot, tail=10_000)
    assert since == everything[20:]
    assert sandbox.visible_logs(dep, since_ms=pivot, tail=3) == everything[-3:]
    assert sandbox.visible_logs(dep, since_ms=everything[-1][0] + 1) == []


def test_the_world_is_deterministic_given_the_seed() -> None:
    def snapshot(rng_seed: int) -> tuple[list[str], list[str]]:
        clock = ManualClock()
        sandbox = NeuraNetSandbox(clock, rng_seed=rng_seed)
        clock.advance(900)
        sandbox.advance()
        deps = sandbox.deployments_of(sandbox.demo_api_key)
        messages = [m for d in deps for _, _, m in sandbox.visible_logs(d, tail=50)]
        return [d.id for d in deps], messages

    assert snapshot(1) == snapshot(1)
    assert snapshot(1)[0] != snapshot(2)[0]


def test_iso_ms_rounds_down_and_never_shows_an_earlier_second() -> None:
    assert iso_ms(DEFAULT_START) == "2026-11-01T12:00:00.000Z"
    assert iso_ms(DEFAULT_START + 0.9996) == "2026-11-01T12:00:00.999Z"
    assert iso_ms(DEFAULT_START + 1.0) == "2026-11-01T12:00:01.000Z"


# -- wire shapes ---------------------------------------------------------------------------


@pytest.fixture
async def http(sandbox: NeuraNetSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        RunningSandbox(sandbox) as running,
        httpx.AsyncClient(
            base_url=running.base_url,
            headers={"Authorization": f"Bearer {sandbox.demo_api_key}"},
        ) as client,
    ):
        yield client


async def test_wire_shapes_of_the_deployment_endpoints(
    http: httpx.AsyncClient, sandbox: NeuraNetSandbox, clock: ManualClock
) -> None:
    created = await http.post(
        "/deployments", json={"nodeId": NODE_RTX4090, "templateId": "ollama", "env": {"A": "1"}}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["estimatedHourlyCost"] == 150
    deployment = body["deployment"]
    assert set(deployment) == {
        "id",
        "userId",
        "nodeId",
        "templateId",
        "customImage",
        "name",
        "status",
        "endpoints",
        "env",
        "totalCost",
        "createdAt",
        "startedAt",
        "updatedAt",
    }
    assert deployment["id"].startswith("dep_") and deployment["userId"].startswith("user_")
    assert deployment["createdAt"] == "2026-11-01T12:00:00.000Z"
    assert (deployment["status"], deployment["endpoints"], deployment["totalCost"]) == (
        "pending",
        [],
        0,
    )
    dep_id = deployment["id"]
    clock.advance(60)
    stop = await http.post(f"/deployments/{dep_id}/stop")
    assert stop.json() == {"deployment": {"id": dep_id, "status": "stopping"}}
    again = await http.post(f"/deployments/{dep_id}/stop")
    assert (again.status_code, again.json()) == (409, {"error": "Deployment is already stopping"})
    clock.advance(10)
    start = await http.post(f"/deployments/{dep_id}/start")
    assert start.json() == {"deployment": {"id": dep_id, "status": "starting"}}
    logs = (await http.get(f"/deployments/{dep_id}/logs", params={"tail": "2"})).json()["logs"]
    assert len(logs) == 2 and set(logs[0]) == {"timestamp", "stream", "message"}
    assert logs[0]["timestamp"].endswith("Z")
    deleted = await http.delete(f"/deployments/{dep_id}")
    assert deleted.json() == {"success": True, "message": "Deployment deleted"}
    gone = await http.get(f"/deployments/{dep_id}")
    assert (gone.status_code, gone.json()) == (404, {"error": "Deployment not found"})


def _detail(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": message}


@pytest.mark.parametrize(
    ("body", "details"),
    [
        (
            {},
            [
                _detail("nodeId", "nodeId is required"),
                _detail("templateId", "Either templateId or customImage is required"),
            ],
        ),
        (
            {"nodeId": "", "customImage": "a b"},
            [
                _detail("nodeId", "nodeId must be a non-empty string"),
                _detail("customImage", "customImage must be a Docker image reference"),
            ],
        ),
        (
            {"nodeId": NODE_L4, "templateId": 5},
            [_detail("templateId", "templateId must be a string")],
        ),
        (
            {"nodeId": NODE_L4, "templateId": "ollama", "name": ""},
            [_detail("name", "name must be a string of 1 to 64 characters")],
        ),
        (
            {"nodeId": NODE_L4, "templateId": "ollama", "env": {"A": 1}},
            [_detail("env.A", "Environment values must be strings")],
        ),
        (
            {"nodeId": NODE_L4, "templateId": "ollama", "env": []},
            [_detail("env", "env must be an object of string values")],
        ),
    ],
)
async def test_create_validation_details(
    http: httpx.AsyncClient, body: dict[str, object], details: list[dict[str, str]]
) -> None:
    response = await http.post("/deployments", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": "Validation failed", "details": details}


@pytest.mark.parametrize(
    ("content", "error"),
    [(b"{not json", "Invalid JSON body"), (b"[1, 2]", "Request body must be a JSON object")],
)
async def test_create_with_a_body_that_is_not_an_object(
    http: httpx.AsyncClient, content: bytes, error: str
) -> None:
    response = await http.post(
        "/deployments", content=content, headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()) == (400, {"error": error})


@pytest.mark.parametrize(
    ("path", "params", "error"),
    [
        ("/deployments", {"page": "0"}, "page must be an integer at least 1"),
        ("/deployments", {"limit": "abc"}, "limit must be an integer between 1 and 100"),
        ("/nodes", {"status": "busy"}, "status must be one of online, offline, maintenance"),
        ("/nodes", {"hasGpu": "maybe"}, "hasGpu must be true or false"),
        ("/nodes", {"minGpuVram": "-1"}, "minGpuVram must be an integer at least 0"),
        ("/nodes", {"limit": "101"}, "limit must be an integer between 1 and 100"),
    ],
)
async def test_query_validation(
    http: httpx.AsyncClient, path: str, params: dict[str, str], error: str
) -> None:
    response = await http.get(path, params=params)
    assert (response.status_code, response.json()) == (400, {"error": error})


async def test_logs_query_validation(http: httpx.AsyncClient, sandbox: NeuraNetSandbox) -> None:
    dep = sandbox.create_deployment(sandbox.demo_api_key, NODE_L4, template_id="ollama")
    bad_since = await http.get(f"/deployments/{dep.id}/logs", params={"since": "last week"})
    assert bad_since.json() == {"error": "since must be an ISO 8601 timestamp"}
    bad_tail = await http.get(f"/deployments/{dep.id}/logs", params={"tail": "0"})
    assert bad_tail.status_code == 400


async def test_nodes_list_and_detail_forms(http: httpx.AsyncClient) -> None:
    listed = (await http.get("/nodes", params={"limit": "5", "page": "3"})).json()
    assert listed["pagination"] == {"page": 3, "limit": 5, "total": 12, "totalPages": 3}
    assert len(listed["nodes"]) == 2
    node = (await http.get("/nodes", params={"limit": "1"})).json()["nodes"][0]
    assert set(node) == {
        "id",
        "name",
        "status",
        "specs",
        "gpus",
        "region",
        "country",
        "hourlyRateCents",
        "activeDeployments",
        "maxDeployments",
        "uptimePercent",
    }
    assert set(node["specs"]) == {
        "cpuModel",
        "cpuCores",
        "cpuThreads",
        "ramMb",
        "diskGb",
        "diskType",
    }
    assert set(node["gpus"][0]) == {"name", "vramMb", "cudaVersion"}
    detail = (await http.get(f"/nodes/{node['id']}")).json()["node"]
    assert {"operatorId", "lastHeartbeat", "createdAt"} <= set(detail)
    assert {"networkSpeedMbps", "os", "dockerVersion"} <= set(detail["specs"])
    assert {"brand", "cudaCores", "tensorCores", "driverVersion"} <= set(detail["gpus"][0])


async def test_nodes_are_public(sandbox: NeuraNetSandbox, http: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=str(http.base_url)) as anonymous:
        assert (await anonymous.get("/nodes")).status_code == 200
        assert (await anonymous.get("/deployments")).status_code == 401
