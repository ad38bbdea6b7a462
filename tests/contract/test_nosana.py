"""Contract tests: the Nosana client against the Nosana sandbox served on 127.0.0.1.

Every client method, every error shape of the spec (§3, §4.1) and both list shapes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.providers.errors import (
    AuthenticationError,
    InsufficientFundsError,
    NotFoundError,
    NotSupportedError,
    OutcomeUnknownError,
    UnavailableError,
    ValidationError,
    WrongStateError,
)
from bot.providers.http import RetryPolicy
from bot.providers.models import Capability, DeploymentStatus
from bot.providers.nosana import NosanaProvider
from sandbox.clock import ManualClock
from sandbox.common import RunningSandbox
from sandbox.nosana import NosanaSandbox, owner_for_key

M3060 = "7AtiXMSH6R1jjBxrcYjehCkkSF7zvYWte63gwEDBcGHq"
M4090 = "97G9NnvBDQ2WpKu6fasoMsAKmfj63C9rhysJnkeWodAf"
MISSING_ID = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"
INCORRECT_STATE = "Deployment is in the incorrect state."


def definition(op_id: str = "web", image: str = "nginx:1.27", port: int = 80) -> dict[str, Any]:
    return {
        "version": "0.1",
        "type": "container",
        "meta": {"trigger": "api"},
        "ops": [
            {
                "type": "container/run",
                "id": op_id,
                "args": {"image": image, "expose": port, "cmd": ["echo hello world"]},
            }
        ],
    }


def create_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "web",
        "market": M4090,
        "timeout": 60,
        "replicas": 1,
        "strategy": "SIMPLE",
        "job_definition": definition(),
    }
    body.update(overrides)
    return body


@dataclass
class Env:
    api: NosanaSandbox
    clock: ManualClock
    base_url: str
    retry: RetryPolicy
    client: NosanaProvider
    key: str

    def provider(self, key: str) -> NosanaProvider:
        return NosanaProvider(key, base_url=self.base_url, retry=self.retry)

    def raw(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers)

    async def create(self, **overrides: Any) -> str:
        result = await self.client.create(create_body(**overrides))
        return result.deployment.id


@pytest.fixture
async def env(clock: ManualClock, fast_retry: RetryPolicy) -> AsyncIterator[Env]:
    api = NosanaSandbox(clock)
    key = "nos_sk_contractTestKey0123456789abcdefgh"
    api.add_api_key(key, credits_usd=50)
    async with RunningSandbox(api) as running:
        client = NosanaProvider(key, base_url=running.base_url, retry=fast_retry)
        yield Env(api, clock, running.base_url, fast_retry, client, key)
        await client.aclose()


# -- auth ----------------------------------------------------------------------------------------


async def test_missing_auth_is_a_plain_text_401(env: Env) -> None:
    async with env.raw() as http:
        response = await http.get("/deployments")
    assert response.status_code == 401
    assert response.text == "Unauthorized, missing or invalid headers"


async def test_bad_key_is_an_authentication_error_without_the_key(env: Env) -> None:
    bad = "nos_sk_wrongKeyThatDoesNotExist00000000"
    client = env.provider(bad)
    with pytest.raises(AuthenticationError) as caught:
        await client.verify()
    await client.aclose()
    assert caught.value.provider_text == "Unauthorized"
    assert bad not in str(caught.value)
    assert env.api.count("GET", "/api/deployments") == 1  # a 401 is not retried


async def test_markets_are_public(env: Env) -> None:
    async with env.raw() as http:
        response = await http.get("/markets/")
    assert response.status_code == 200
    assert {m["address"] for m in response.json()} >= {M3060, M4090}


# -- listing -------------------------------------------------------------------------------------


async def test_pagination_walks_keyset_pages(env: Env) -> None:
    ids = env.api.seed_bulk(env.key, 25)
    first = await env.client.list_page(limit=10)
    assert [d.id for d in first.items] == ids[::-1][:10]  # newest first
    assert first.total == 25 and first.next_cursor
    second = await env.client.list_page(limit=10, cursor=first.next_cursor)
    third = await env.client.list_page(limit=10, cursor=second.next_cursor)
    assert third.next_cursor is None
    assert [d.id for d in first.items + second.items + third.items] == ids[::-1]
    assert await env.client.list_deployments() == first.items + second.items + third.items
    cursor = json.loads(base64.b64decode(first.next_cursor))
    assert cursor["direction"] == "next" and set(cursor) == {"sort_field_value", "_id", "direction"}


async def test_pages_go_back_with_cursor_prev_and_ascending(env: Env) -> None:
    ids = env.api.seed_bulk(env.key, 15)
    async with env.raw(env.key) as http:
        first = (await http.get("/deployments", params={"limit": "10"})).json()
        assert first["pagination"]["cursor_prev"] is None
        second = (
            await http.get(
                "/deployments", params={"limit": "10", "cursor": first["pagination"]["cursor_next"]}
            )
        ).json()
        back = (
            await http.get(
                "/deployments",
                params={"limit": "10", "cursor": second["pagination"]["cursor_prev"]},
            )
        ).json()
        asc = (await http.get("/deployments", params={"limit": "10", "sort_order": "asc"})).json()
        bad = await http.get("/deployments", params={"limit": "15"})
    assert [d["id"] for d in back["deployments"]] == [d["id"] for d in first["deployments"]]
    assert [d["id"] for d in asc["deployments"]] == ids[:10]
    assert bad.status_code == 400
    assert bad.json()["message"] == "querystring/limit must be equal to one of the allowed values"


async def test_requested_limits_are_rounded_up(env: Env) -> None:
    await env.client.list_page(limit=15)
    await env.client.list_page(limit=500)
    queries = [r.query for r in env.api.requests if r.path == "/api/deployments"]
    assert "limit=20" in queries[0] and "limit=100" in queries[1]


async def test_legacy_bare_array_shape_is_accepted(env: Env) -> None:
    ids = env.api.seed_bulk(env.key, 12)
    env.api.legacy_list_shape = True
    page = await env.client.list_page(limit=10)
    assert [d.id for d in page.items] == ids[::-1]
    assert page.next_cursor is None and page.total == 12
    assert page.items[0].extras["legacy_shape"] is True
    assert len(await env.client.list_deployments()) == 12


async def test_legacy_shape_from_an_injected_answer(env: Env) -> None:
    dep_id = await env.create()
    legacy = env.api.deployment_json(env.api.deployment(dep_id), legacy=True)
    env.api.inject(method="GET", path="/api/deployments", status=200, body=[legacy])
    page = await env.client.list_page()
    assert [d.id for d in page.items] == [dep_id]
    assert page.items[0].extras["active_jobs"] == 0


async def test_list_filters(env: Env) -> None:
    await env.create(name="alpha-web")
    beta = await env.create(name="beta-api", strategy="SCHEDULED", schedule="0 * * * *")
    await env.client.start(beta)
    env.clock.advance(10)
    running = await env.client.list_page(status="running")
    assert [d.name for d in running.items] == ["beta-api"] and running.total == 1
    assert [d.name for d in (await env.client.list_page(status="DRAFT")).items] == ["alpha-web"]
    assert [d.name for d in (await env.client.list_page(strategy="scheduled")).items] == [
        "beta-api"
    ]
    assert [d.name for d in (await env.client.list_page(search="ALPHA")).items] == ["alpha-web"]
    assert [d.name for d in (await env.client.list_page(name="beta-api")).items] == ["beta-api"]
    assert (await env.client.list_page(name="beta")).items == []
    sent = env.api.count()
    with pytest.raises(ValidationError) as caught:
        await env.client.list_page(status="pending")
    assert "status" in caught.value.field_errors
    assert env.api.count() == sent  # refused locally


async def test_accounts_are_separate(env: Env) -> None:
    mine = await env.create()
    other_key = "nos_sk_someoneElse0000000000000000000000"
    env.api.add_api_key(other_key)
    other = env.provider(other_key)
    assert (await other.list_page()).items == []
    with pytest.raises(NotFoundError):
        await other.get(mine)
    with pytest.raises(NotFoundError):
        await other.stop(mine)
    await other.aclose()
    assert env.api.deployment(mine).account.owner == owner_for_key(env.key)


async def test_demo_world_is_seeded(env: Env) -> None:
    demo = env.provider(env.api.demo_api_key)
    deployments = await demo.list_deployments()
    await demo.aclose()
    statuses = {d.name: d.status for d in deployments}
    assert statuses["llama3-chat"] is DeploymentStatus.RUNNING
    assert statuses["sd-render-batch"] is DeploymentStatus.STOPPED
    assert statuses["notebook-draft"] is DeploymentStatus.DRAFT
    assert statuses["whisper-transcribe-batch"] is DeploymentStatus.ARCHIVED
    assert {d.extras["strategy"] for d in deployments} == {
        "SIMPLE",
        "SIMPLE-EXTEND",
        "SCHEDULED",
        "INFINITE",
    }


# -- reading one ---------------------------------------------------------------------------------


async def test_get_normalizes_with_market_price(env: Env) -> None:
    dep_id = await env.create(replicas=2)
    deployment = await env.client.get(dep_id)
    assert deployment.status is DeploymentStatus.DRAFT
    # A draft runs no jobs: it costs nothing now, and 0.35 × 1.1 × 2 once running.
    assert deployment.cost_per_hour_usd == Decimal(0)
    assert Decimal(deployment.extras["cost_when_running_per_hour_usd"]) == Decimal("0.770")
    assert deployment.endpoints[0].url.endswith(".node.k8s.prd.nos.ci")
    assert deployment.endpoints[0].port == 80 and deployment.endpoints[0].label == "web"
    assert deployment.extras["vault"] == deployment.extras["owner"] == owner_for_key(env.key)
    assert env.client.available_actions(deployment) >= {Capability.START, Capability.SCALE}


async def test_markets_are_cached_across_calls(env: Env) -> None:
    dep_id = await env.create()
    for _ in range(3):
        await env.client.get(dep_id)
    await env.client.list_page()
    assert env.api.count("GET", "/api/markets/") == 1


async def test_unknown_market_has_no_cost_but_still_shows(env: Env) -> None:
    unknown = "3Bq7XoZ2Hsd4mC6kUoE3m9vWm7gq7nXh8kPzH1vZpq1u"
    dep_id = await env.create(market=unknown)
    deployment = await env.client.get(dep_id)
    assert deployment.cost_per_hour_usd is None
    assert env.api.count("GET", f"/api/markets/{unknown}/") == 1


async def test_get_errors(env: Env) -> None:
    with pytest.raises(NotFoundError) as caught:
        await env.client.get(MISSING_ID)
    assert caught.value.provider_text == "Deployment not found."
    sent = env.api.count()
    with pytest.raises(ValidationError):
        await env.client.get("short-id")
    assert env.api.count() == sent
    async with env.raw(env.key) as http:
        response = await http.get("/deployments/short-id")
    assert response.status_code == 400
    assert response.json() == {
        "statusCode": 400,
        "code": "FST_ERR_VALIDATION",
        "error": "Bad Request",
        "message": "params/deployment must NOT have fewer than 43 characters",
    }


async def test_unknown_routes_answer_fastify_404(env: Env) -> None:
    dep_id = await env.create()
    async with env.raw(env.key) as http:
        response = await http.get(f"/deployments/{dep_id}/start")
    assert response.status_code == 404
    assert response.json() == {
        "message": f"Route GET:/deployments/{dep_id}/start not found",
        "error": "Not Found",
        "statusCode": 404,
    }


# -- create --------------------------------------------------------------------------------------


async def test_create_returns_a_draft_with_an_estimate(env: Env) -> None:
    result = await env.client.create(create_body(replicas=3))
    assert result.deployment.status is DeploymentStatus.DRAFT
    assert result.estimated_cost_per_hour_usd == Decimal("1.155")
    assert env.api.count("POST", "/api/deployments/create") == 1
    revision = env.api.deployment(result.deployment.id).revisions[0].body
    assert revision["job_definition"]["meta"]["trigger"] == "deployment-manager"
    assert revision["job_definition"]["deployment_id"] == result.deployment.id


async def test_create_with_autostart_starts(env: Env) -> None:
    result = await env.client.create(create_body(autostart=True))
    assert result.deployment.status is DeploymentStatus.STARTING


async def test_create_is_validated_locally_first(env: Env) -> None:
    bad = create_body(
        replicas=0,
        job_definition={
            **definition(),
            "ops": [{"type": "container/run", "id": "a b", "args": {}}],
        },
    )
    with pytest.raises(ValidationError) as caught:
        await env.client.create(bad)
    assert {"replicas", "job_definition.ops[0].id", "job_definition.ops[0].args"} <= set(
        caught.value.field_errors
    )
    assert env.api.count("POST", "/api/deployments/create") == 0


@pytest.mark.parametrize(
    ("body", "message", "fields"),
    [
        (
            create_body(replicas=0),
            "replicas: Expected number to be greater or equal to 1, : Expected all values to match",
            {"replicas": "Expected number to be greater or equal to 1"},
        ),
        (
            create_body(strategy="SCHEDULED"),
            ": Expected union value, : Expected all values to match",
            {"body": "Expected union value"},
        ),
        (
            create_body(job_definition={**definition(), "foo": 1}),
            "job_definition$input.foo: undefined",
            {"job_definition.foo": "undefined"},
        ),
        (
            create_body(strategy="INFINITE", timeout=30),
            "Timeout for infinite deployments must be at least 1 hour.",
            {"timeout": "Timeout for infinite deployments must be at least 1 hour."},
        ),
        (
            create_body(strategy="INFINITE", timeout=60, rotation_time=55),
            "Rotation time must be at least 10 minutes less than timeout.",
            {"rotation_time": "Rotation time must be at least 10 minutes less than timeout."},
        ),
    ],
)
async def test_server_validation_errors_map_to_field_errors(
    env: Env, body: dict[str, Any], message: str, fields: dict[str, str]
) -> None:
    # Bypass local validation to check the emulator's answer and the client's mapping.
    with pytest.raises(ValidationError) as caught:
        await env.client.http.request("POST", "/deployments/create", json=body, idempotent=False)
    assert caught.value.provider_text == message
    assert caught.value.field_errors == fields
    assert caught.value.status_code == 400


# -- actions and wrong states --------------------------------------------------------------------


async def test_start_and_stop_return_fresh_deployments(env: Env) -> None:
    dep_id = await env.create()
    started = await env.client.start(dep_id)
    assert started.status is DeploymentStatus.STARTING
    env.clock.advance(60)
    assert (await env.client.get(dep_id)).status is DeploymentStatus.RUNNING
    stopping = await env.client.stop(dep_id)
    assert stopping.status is DeploymentStatus.STOPPING
    env.clock.advance(10)
    assert (await env.client.get(dep_id)).status is DeploymentStatus.STOPPED


async def test_wrong_state_carries_the_provider_text(env: Env) -> None:
    dep_id = await env.create()
    with pytest.raises(WrongStateError) as caught:
        await env.client.stop(dep_id)  # a DRAFT cannot be stopped
    assert caught.value.provider_text == INCORRECT_STATE
    assert caught.value.status_code == 500
    assert INCORRECT_STATE in caught.value.message
    assert "RUNNING, ERROR or INSUFFICIENT_FUNDS" in caught.value.message
    assert env.api.count("POST", f"/api/deployments/{dep_id}/stop") == 1  # not retried
    with pytest.raises(WrongStateError):
        await env.client.archive(dep_id)
    with pytest.raises(WrongStateError):
        await env.client.delete(dep_id)
    await env.client.start(dep_id)
    with pytest.raises(WrongStateError):
        await env.client.start(dep_id)  # STARTING


async def test_archive_then_the_archived_guard(env: Env) -> None:
    dep_id = await env.create()
    await env.client.start(dep_id)
    env.clock.advance(60)
    await env.client.stop(dep_id)
    env.clock.advance(10)
    archived = await env.client.archive(dep_id)
    assert archived.status is DeploymentStatus.ARCHIVED
    assert env.client.available_actions(archived) == {
        Capability.LOGS,
        Capability.EVENTS,
        Capability.JOBS,
    }
    with pytest.raises(WrongStateError) as caught:
        await env.client.scale(dep_id, 2)
    assert caught.value.provider_text == "Cannot modify an archived deployment."
    with pytest.raises(WrongStateError) as caught:
        await env.client.stop(dep_id)
    assert "Archived deployments cannot be changed" in caught.value.message
    with pytest.raises(WrongStateError) as caught:
        await env.client.start(dep_id)  # no archived guard on start: the state check refuses
    assert caught.value.provider_text == INCORRECT_STATE
    renamed = await env.client.rename(dep_id, "kept-for-history")  # update-name has no guard
    assert renamed.name == "kept-for-history"


async def test_delete_only_from_stopped(env: Env) -> None:
    dep_id = await env.create()
    await env.client.start(dep_id)
    env.clock.advance(60)
    with pytest.raises(WrongStateError):
        await env.client.delete(dep_id)
    await env.client.stop(dep_id)
    env.clock.advance(10)
    assert await env.client.delete(dep_id) is None
    with pytest.raises(NotFoundError):
        await env.client.get(dep_id)
    async with env.raw(env.key) as http:
        listed = (await http.get("/deployments")).json()
    assert listed["pagination"]["total_items"] == 0


# -- revisions and updates -----------------------------------------------------------------------


async def test_revise_and_rollback(env: Env) -> None:
    dep_id = await env.create()
    revised = await env.client.revise(dep_id, json.dumps(definition("api", "nginx:1.28", 8080)))
    assert revised.active_revision == 2
    assert revised.endpoints[0].label == "api" and revised.endpoints[0].port == 8080
    revisions = await env.client.revisions(dep_id)
    assert [r.revision for r in revisions] == [1, 2]
    assert revisions[1].definition["ops"][0]["args"]["image"] == "nginx:1.28"
    rolled = await env.client.rollback(dep_id, 1)
    assert rolled.active_revision == 1 and rolled.endpoints[0].label == "web"
    with pytest.raises(ValidationError) as caught:
        await env.client.rollback(dep_id, 9)
    assert caught.value.field_errors == {
        "active_revision": "The specified revision does not exist."
    }


async def test_revise_is_validated_locally_and_by_the_server(env: Env) -> None:
    dep_id = await env.create()
    with pytest.raises(ValidationError) as caught:
        await env.client.revise(
            dep_id,
            {
                "version": "0.1",
                "type": "container",
                "ops": [
                    {"type": "container/run", "id": "x", "args": {"image": "a", "env": {"N": 1}}}
                ],
            },
        )
    assert "job_definition.ops[0].args.env.N" in caught.value.field_errors
    with pytest.raises(ValidationError):
        await env.client.revise(dep_id, "{not json")
    assert env.api.count("POST", f"/api/deployments/{dep_id}/create-revision") == 0
    with pytest.raises(ValidationError) as caught:
        await env.client.http.request(
            "POST",
            f"/deployments/{dep_id}/create-revision",
            json={"version": "0.1", "type": "container"},
            idempotent=False,
        )
    assert caught.value.provider_text == "$input.ops: Array<Operation<OperationType>> & UniqueById"
    assert caught.value.field_errors == {
        "job_definition.ops": "Array<Operation<OperationType>> & UniqueById"
    }


async def test_scale_and_timeout(env: Env) -> None:
    dep_id = await env.create()
    assert (await env.client.scale(dep_id, 0)).replicas == 0
    assert (await env.client.scale(dep_id, 4)).replicas == 4
    assert (await env.client.set_timeout(dep_id, 120)).extras["timeout_minutes"] == 120
    sent = env.api.count()
    for call in (env.client.scale(dep_id, -1), env.client.set_timeout(dep_id, 59)):
        with pytest.raises(ValidationError):
            await call
    assert env.api.count() == sent
    with pytest.raises(ValidationError) as caught:
        await env.client.http.request(
            "PATCH", f"/deployments/{dep_id}/update-timeout", json={"timeout": 30}, idempotent=True
        )
    assert caught.value.field_errors == {"timeout": "must be >= 60"}
    with pytest.raises(ValidationError) as caught:
        await env.client.http.request(
            "PATCH", f"/deployments/{dep_id}/update-replica-count", json={}, idempotent=True
        )
    assert caught.value.field_errors == {"replicas": "is required"}


async def test_same_value_update_writes_nothing(env: Env) -> None:
    dep_id = await env.create()
    before = (await env.client.get(dep_id)).updated_at
    env.clock.advance(30)
    after = await env.client.scale(dep_id, 1)
    assert after.updated_at == before


async def test_schedule_only_for_scheduled(env: Env) -> None:
    simple = await env.create()
    with pytest.raises(WrongStateError) as caught:
        await env.client.set_schedule(simple, "0 * * * *")
    assert caught.value.provider_text == "Deployment is using an incorrect strategy."
    assert "Only SCHEDULED deployments" in caught.value.message
    scheduled = await env.create(strategy="SCHEDULED", schedule="0 * * * *")
    updated = await env.client.set_schedule(scheduled, "  30 2 * * 1 ")
    assert updated.extras["schedule"] == "30 2 * * 1"
    assert Capability.SCHEDULE in env.client.available_actions(updated)
    with pytest.raises(ValidationError) as caught:
        await env.client.set_schedule(scheduled, "every monday")
    assert "schedule" in caught.value.field_errors
    with pytest.raises(ValidationError) as caught:
        await env.client.http.request(
            "PATCH",
            f"/deployments/{scheduled}/update-schedule",
            json={"schedule": "* * *"},
            idempotent=True,
        )
    assert "schedule" in caught.value.field_errors


async def test_rename_and_an_older_server_without_the_route(env: Env) -> None:
    dep_id = await env.create()
    assert (await env.client.rename(dep_id, "  new-name ")).name == "new-name"
    with pytest.raises(ValidationError):
        await env.client.rename(dep_id, "   ")
    env.api.inject(
        method="PATCH",
        path=r"/api/deployments/\w+/update-name",
        status=404,
        body={
            "message": f"Route PATCH:/deployments/{dep_id}/update-name not found",
            "error": "Not Found",
            "statusCode": 404,
        },
    )
    with pytest.raises(NotSupportedError) as caught:
        await env.client.rename(dep_id, "again")
    assert "cannot rename" in caught.value.message


# -- jobs, logs, events --------------------------------------------------------------------------


async def test_jobs_job_detail_logs_and_events(env: Env) -> None:
    dep_id = await env.create(replicas=2)
    await env.client.start(dep_id)
    env.clock.advance(10)
    queued = await env.client.jobs(dep_id)
    assert [j.state for j in queued] == ["QUEUED", "QUEUED"]
    assert await env.client.logs(dep_id) == []  # nothing posted before a node runs it
    env.clock.advance(60)
    running = await env.client.jobs(dep_id, state="running")
    assert len(running) == 2 and all(j.node and j.started_at for j in running)
    detail = await env.client.job(dep_id, running[0].id)
    assert (
        detail.state == "RUNNING" and detail.extras["result"]["opStates"][0]["operationId"] == "web"
    )
    env.clock.advance(3600)
    done = await env.client.jobs(dep_id)
    assert {j.state for j in done} == {"COMPLETED"} and all(j.ended_at for j in done)
    lines = await env.client.logs(dep_id)
    messages = [line.message for line in lines]
    assert "hello world" in messages and "Container exited with code 0" in messages
    assert lines == sorted(lines, key=lambda line: line.timestamp)  # oldest first
    assert {line.stream for line in lines} <= {"stdout", "stderr"}
    assert await env.client.logs(dep_id, tail=3) == lines[-3:]
    since = lines[-1].timestamp - timedelta(minutes=4)
    recent = await env.client.logs(dep_id, since=since)
    assert recent and all(line.timestamp >= since for line in recent)
    events = await env.client.events(dep_id)
    assert [e.type for e in events].count("JOB_LIST_CONFIRMED") == 2
    assert all(e.category == "Deployment" and e.tx for e in events)
    assert events[0].created_at >= events[-1].created_at  # newest first
    with pytest.raises(NotFoundError) as caught:
        await env.client.job(dep_id, MISSING_ID)
    assert caught.value.provider_text == "Job not found"


async def test_sub_resources_walk_several_pages(env: Env) -> None:
    dep_id = await env.create(replicas=120)
    await env.client.start(dep_id)
    env.clock.advance(10)  # 120 jobs listed (QUEUED), 120 events
    jobs = await env.client.jobs(dep_id, limit=110)
    assert len({j.id for j in jobs}) == 110
    created = [j.created_at for j in jobs]
    assert created == sorted(created, reverse=True)
    queries = [r.query for r in env.api.requests if r.path.endswith("/jobs")]
    assert len(queries) == 2 and "limit=100" in queries[0] and "limit=10" in queries[1]
    assert "cursor=" in queries[1]
    assert len(await env.client.events(dep_id, limit=105)) == 105
    assert len(await env.client.jobs(dep_id, limit=500)) == 120


# -- money ---------------------------------------------------------------------------------------


async def test_balance(env: Env) -> None:
    balance = await env.client.balance()
    assert balance.available_usd == Decimal(50)
    assert balance.details == {
        "assigned": Decimal(50),
        "reserved": Decimal(0),
        "settled": Decimal(0),
    }
    env.api.set_credits(env.key, Decimal("12.5"))
    assert (await env.client.balance()).available_usd == Decimal("12.5")


async def test_markets_and_one_market(env: Env) -> None:
    markets = await env.client.markets()
    by_id = {m.id: m for m in markets}
    assert by_id[M4090].price_per_hour_usd == Decimal("0.385")
    premium = await env.client.markets(type="premium")
    assert premium and all(m.extras["type"] == "PREMIUM" for m in premium)
    assert len(premium) < len(markets)
    by_slug = await env.client.markets(filter_key="slug", filter_value="nvidia-3060")
    assert [m.id for m in by_slug] == [M3060]
    assert len(await env.client.markets(limit=2)) == 2
    one = await env.client.market(M3060)
    assert one.name == "NVIDIA RTX 3060" and one.vram_mb == 12 * 1024
    with pytest.raises(NotFoundError):
        await env.client.market(MISSING_ID)
    for bad in ({"type": "CHEAP"}, {"gpu": "4090"}, {"filter_key": "slug"}):
        with pytest.raises(ValidationError):
            await env.client.markets(**bad)


# -- transport-level failures --------------------------------------------------------------------


async def test_5xx_on_reads_is_retried_then_unavailable(env: Env) -> None:
    env.api.inject(
        method="GET", path="/api/deployments", status=503, body={"error": "upstream down"}
    )
    assert (await env.client.list_page()).items == []
    assert env.api.count("GET", "/api/deployments") == 2
    env.api.inject(method="GET", path="/api/deployments", status=502, body="Bad Gateway", times=10)
    with pytest.raises(UnavailableError) as caught:
        await env.client.list_page()
    assert "HTTP 502" in caught.value.message


async def test_non_idempotent_calls_are_not_resent(env: Env) -> None:
    dep_id = await env.create()
    env.api.inject(
        method="POST", path=r"/api/deployments/\w+/start", status=502, body="Bad Gateway"
    )
    with pytest.raises(OutcomeUnknownError) as caught:
        await env.client.start(dep_id)
    assert "may or may not" in caught.value.message
    assert env.api.count("POST", f"/api/deployments/{dep_id}/start") == 1


async def test_rate_limits_are_waited_out(env: Env) -> None:
    env.api.inject(
        method="GET", path="/api/credits/balance", status=429, headers={"Retry-After": "0"}
    )
    assert (await env.client.balance()).available_usd == Decimal(50)
    assert env.api.count("GET", "/api/credits/balance") == 2


async def test_insufficient_credits_text_maps_to_funds_error(env: Env) -> None:
    dep_id = await env.create()
    text = "Insufficient credits to list job. Required: $0.385, Available: $0.000"
    env.api.inject(
        method="POST", path=r"/api/deployments/\w+/start", status=500, body={"error": text}
    )
    with pytest.raises(InsufficientFundsError) as caught:
        await env.client.start(dep_id)
    assert "Available: $0.000" in caught.value.message


async def test_the_key_never_leaks_into_errors(env: Env) -> None:
    env.api.inject(
        method="GET",
        path="/api/credits/balance",
        status=400,
        body={"error": f"key {env.key} is odd"},
    )
    with pytest.raises(ValidationError) as caught:
        await env.client.balance()
    assert env.key not in str(caught.value) and env.key not in repr(caught.value)
    assert env.key not in (caught.value.provider_text or "")


async def test_market_cache_expires_and_a_failing_markets_endpoint_is_not_hammered(
    env: Env,
) -> None:
    now = [0.0]
    client = NosanaProvider(
        env.key, base_url=env.base_url, retry=env.retry, monotonic=lambda: now[0]
    )
    dep_id = await env.create()
    await client.get(dep_id)
    now[0] += client.market_ttl + 1
    env.api.inject(
        method="GET",
        path="/api/markets/",
        status=500,
        body={"name": "MongoError", "message": "down"},
        times=10,
    )
    before = env.api.count("GET", "/api/markets/")
    shown = await client.get(dep_id)  # the refresh fails: the last known price is kept
    assert Decimal(shown.extras["cost_when_running_per_hour_usd"]) == Decimal("0.385")
    failed_calls = env.api.count("GET", "/api/markets/")
    assert failed_calls == before + client.http.retry.max_attempts
    await client.get(dep_id)
    assert env.api.count("GET", "/api/markets/") == failed_calls  # waits a TTL before asking again
    env.api.faults.clear()
    now[0] += client.market_ttl + 1
    again = await client.get(dep_id)
    assert Decimal(again.extras["cost_when_running_per_hour_usd"]) == Decimal("0.385")
    assert env.api.count("GET", "/api/markets/") == failed_calls + 1
    fresh = NosanaProvider(env.key, base_url=env.base_url, retry=env.retry)
    env.api.inject(method="GET", path="/api/markets/.*", status=503, body="down", times=20)
    unpriced = await fresh.get(dep_id)  # never priced: shown without a cost, not an error
    assert unpriced.status is DeploymentStatus.DRAFT and unpriced.cost_per_hour_usd is None
    await fresh.aclose()
    await client.aclose()


async def test_tasks_show_the_worker_queue(env: Env) -> None:
    dep_id = await env.create(strategy="SIMPLE-EXTEND")
    await env.client.start(dep_id)
    async with env.raw(env.key) as http:
        env.clock.advance(2)
        listing = (await http.get(f"/deployments/{dep_id}/tasks")).json()
        assert [t["task"] for t in listing["tasks"]] == ["LIST"]
        assert listing["tasks"][0]["limit"] == 1 and listing["pagination"]["total_items"] == 1
        env.clock.advance(35)
        extend = (await http.get(f"/deployments/{dep_id}/tasks")).json()["tasks"]
        assert [t["task"] for t in extend] == ["EXTEND"]
        await env.client.set_timeout(dep_id, 120)  # re-plans the extension for the new end
        replanned = (await http.get(f"/deployments/{dep_id}/tasks")).json()["tasks"]
        assert len(replanned) == 1 and replanned[0]["due_at"] > extend[0]["due_at"]
