"""Contract tests: every AkashProvider method against the Console API emulator on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from bot.providers import akash_sdl
from bot.providers.akash import AkashCreateSpec, AkashProvider
from bot.providers.errors import (
    AuthenticationError,
    InsufficientFundsError,
    NotFoundError,
    OutcomeUnknownError,
    UnavailableError,
    ValidationError,
    WrongStateError,
)
from bot.providers.http import RetryPolicy
from bot.providers.models import Bid, DeploymentStatus
from sandbox.akash import AkashSandbox
from sandbox.clock import ManualClock
from sandbox.common import RunningSandbox

GPU_FORM = akash_sdl.QuickForm(image="nginx:1.27", gpu_model="rtx4090", max_price_usd_per_hour=2)


@pytest.fixture
async def running(clock: ManualClock) -> AsyncIterator[RunningSandbox]:
    async with RunningSandbox(AkashSandbox(clock)) as server:
        yield server


@pytest.fixture
def sandbox(running: RunningSandbox) -> AkashSandbox:
    assert isinstance(running.api, AkashSandbox)
    return running.api


@pytest.fixture
async def client(running: RunningSandbox, fast_retry: RetryPolicy) -> AsyncIterator[AkashProvider]:
    provider = AkashProvider(running.api.demo_api_key, base_url=running.base_url, retry=fast_retry)
    yield provider
    await provider.aclose()


@pytest.fixture
async def raw(running: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=running.base_url) as http:
        yield http


def _headers(sandbox: AkashSandbox, **extra: str) -> dict[str, str]:
    return {"x-api-key": sandbox.demo_api_key, **extra}


async def _created(client: AkashProvider, form: akash_sdl.QuickForm = GPU_FORM) -> str:
    result = await client.create(
        AkashCreateSpec(sdl=akash_sdl.build_sdl(form), deposit_usd=Decimal(5))
    )
    return result.deployment.id


async def _leased(client: AkashProvider, clock: ManualClock) -> tuple[str, Bid]:
    dseq = await _created(client)
    clock.advance(11)
    bids = await client.bids(dseq)
    chosen = min(bids, key=lambda b: b.price_per_block)
    await client.accept_bids(dseq, [chosen])
    return dseq, chosen


# -- auth and transport rules -----------------------------------------------------------------


async def test_missing_key_is_401_unauthorized_with_the_exact_body(
    raw: httpx.AsyncClient,
) -> None:
    response = await raw.get("/v1/deployments")
    assert response.status_code == 401
    assert response.json() == {
        "error": "UnauthorizedError",
        "message": "Unauthorized",
        "code": "unauthorized",
        "type": "client_error",
    }


async def test_bad_key_is_authentication_error_without_the_key(
    running: RunningSandbox, fast_retry: RetryPolicy, sandbox: AkashSandbox
) -> None:
    for key in ("ac.sk.production." + "0" * 64, "not-a-key-at-all"):
        bad = AkashProvider(key, base_url=running.base_url, retry=fast_retry)
        with pytest.raises(AuthenticationError) as info:
            await bad.verify()
        await bad.aclose()
        assert "Invalid API key" in info.value.message
        assert key not in info.value.message and key not in repr(info.value)
        assert info.value.status_code == 401
    assert sandbox.count("GET", "/v1/deployments") == 2  # a 401 is not retried


async def test_both_auth_headers_are_refused(raw: httpx.AsyncClient, sandbox: AkashSandbox) -> None:
    response = await raw.get(
        "/v1/deployments", headers=_headers(sandbox, Authorization="Bearer eyJhbGciOi")
    )
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Authorization and X-Api-Key headers are mutually exclusive"
    )


async def test_content_type_rules(raw: httpx.AsyncClient, sandbox: AkashSandbox) -> None:
    missing = await raw.post("/v1/deployments", content=b"{}", headers=_headers(sandbox))
    assert (missing.status_code, missing.json()) == (
        400,
        {"error": "Content-Type header is required"},
    )
    wrong = await raw.post(
        "/v1/deployments",
        content=b"sdl",
        headers=_headers(sandbox, **{"Content-Type": "text/yaml"}),
    )
    assert (wrong.status_code, wrong.json()) == (400, {"error": "Unsupported Content-Type"})
    malformed = await raw.post(
        "/v1/deployments",
        content=b"{not json",
        headers=_headers(sandbox, **{"Content-Type": "application/json"}),
    )
    assert malformed.status_code == 400
    assert malformed.json()["message"] == "Malformed JSON in request body"
    # GET and DELETE need no content type
    assert (await raw.get("/v1/balances", headers=_headers(sandbox))).status_code == 200


async def test_zod_validation_envelope(
    raw: httpx.AsyncClient, sandbox: AkashSandbox, client: AkashProvider
) -> None:
    response = await raw.get("/v1/deployments/abc", headers=_headers(sandbox))
    body = response.json()
    assert response.status_code == 400
    assert body["error"] == "BadRequestError"
    assert (body["code"], body["type"], body["message"]) == (
        "validation_error",
        "validation_error",
        "Validation error",
    )
    assert body["data"][0]["path"] == ["dseq"]
    assert "Expected bigint, received string" in body["data"][0]["message"]
    missing = await raw.post(
        "/v1/deposit-deployment", json={"data": {"dseq": "12"}}, headers=_headers(sandbox)
    )
    error = client.map_error(missing)
    assert isinstance(error, ValidationError)
    assert error.field_errors == {"deposit": "Required"}


# -- create -----------------------------------------------------------------------------------


async def test_create_returns_pending_deployment_with_manifest(
    client: AkashProvider, sandbox: AkashSandbox, clock: ManualClock
) -> None:
    clock.advance(1.5)  # the seeded world already used this millisecond
    before = sandbox.balance_of(sandbox.demo_api_key)
    sdl = akash_sdl.build_sdl(GPU_FORM)
    result = await client.create(AkashCreateSpec(sdl=sdl, deposit_usd=Decimal("5.25")))
    dseq = result.deployment.id
    assert dseq == str(int(clock.now() * 1000))
    assert result.deployment.status is DeploymentStatus.PENDING
    assert result.deployment.raw_status == "active (waiting for bids)"
    assert result.extras["manifest"] == akash_sdl.manifest_json(
        akash_sdl.build_manifest(akash_sdl.load_sdl(sdl))
    )
    assert result.extras["manifest_hash"] == result.deployment.extras["manifest_hash"]
    # the form's 2 USD/h rounded up to a whole micro-USD per block: 3334 uact
    assert result.estimated_cost_per_hour_usd == Decimal("2.0004")
    assert len(result.extras["transaction_hash"]) == 64
    assert sandbox.balance_of(sandbox.demo_api_key) == before - Decimal("5.25")
    assert result.deployment.extras["escrow_funds_usd"] == "5.25"
    assert sandbox.count("POST", "/v1/deployments") == 1


async def test_create_keeps_the_dseq_when_the_follow_up_get_fails(
    client: AkashProvider, sandbox: AkashSandbox
) -> None:
    sandbox.inject(method="GET", path=r"/v1/deployments/\d+", status=503, times=10)
    result = await client.create(
        AkashCreateSpec(sdl=akash_sdl.build_sdl(GPU_FORM), deposit_usd=Decimal(5))
    )
    dseq = result.extras["dseq"]
    assert result.deployment.id == dseq
    assert result.deployment.status is DeploymentStatus.PENDING
    assert result.extras["manifest"].startswith("[")
    assert sandbox.deployment(dseq).state == "active"
    assert sandbox.count("POST", "/v1/deployments") == 1


async def test_create_validates_the_sdl_locally(
    client: AkashProvider, sandbox: AkashSandbox
) -> None:
    bad = akash_sdl.build_sdl(GPU_FORM).replace("image: nginx:1.27", "image: ''")
    with pytest.raises(ValidationError) as info:
        await client.create(AkashCreateSpec(sdl=bad, deposit_usd=Decimal(5)))
    assert info.value.field_errors == {"sdl.services.app.image": "must not be empty"}
    assert sandbox.count("POST", "/v1/deployments") == 0


async def test_server_side_invalid_sdl(
    raw: httpx.AsyncClient, sandbox: AkashSandbox, client: AkashProvider
) -> None:
    response = await raw.post(
        "/v1/deployments",
        json={"data": {"sdl": "version: '2.0'\nservices: {}\n", "deposit": 5}},
        headers=_headers(sandbox),
    )
    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith("Invalid SDL: ")
    assert "'profiles'" in body["message"]
    assert (body["error"], body["code"], body["type"]) == (
        "BadRequestError",
        "bad_request",
        "client_error",
    )
    error = client.map_error(response)
    assert isinstance(error, ValidationError) and "sdl" in error.field_errors


async def test_deposit_too_low_and_deposit_required(
    client: AkashProvider, raw: httpx.AsyncClient, sandbox: AkashSandbox
) -> None:
    with pytest.raises(ValidationError) as info:
        await client.create(
            AkashCreateSpec(sdl=akash_sdl.build_sdl(GPU_FORM), deposit_usd=Decimal("0.1"))
        )
    assert info.value.provider_text == "Failed to create deployment: Deposit too low"
    assert "deposit" in info.value.field_errors
    response = await raw.post(
        "/v1/deployments",
        json={"data": {"sdl": akash_sdl.build_sdl(GPU_FORM)}},
        headers=_headers(sandbox),
    )
    assert (response.status_code, response.json()["message"]) == (400, "deposit is required")


async def test_create_with_too_little_balance_is_402(
    client: AkashProvider, sandbox: AkashSandbox
) -> None:
    sandbox.set_balance(sandbox.demo_api_key, 1)
    with pytest.raises(InsufficientFundsError) as info:
        await client.create(
            AkashCreateSpec(sdl=akash_sdl.build_sdl(GPU_FORM), deposit_usd=Decimal(5))
        )
    assert info.value.status_code == 402
    assert "Not enough balance to cover the deployment deposit" in info.value.message
    assert sandbox.count("POST", "/v1/deployments") == 1


async def test_create_is_never_retried(client: AkashProvider, sandbox: AkashSandbox) -> None:
    sandbox.inject(
        method="POST",
        path="/v1/deployments",
        status=503,
        body={
            "error": "ServiceUnavailableError",
            "message": "Service unavailable",
            "code": "service_unavailable",
            "type": "server_error",
        },
    )
    with pytest.raises(UnavailableError):
        await client.create(
            AkashCreateSpec(sdl=akash_sdl.build_sdl(GPU_FORM), deposit_usd=Decimal(5))
        )
    assert sandbox.count("POST", "/v1/deployments") == 1


async def test_create_timeout_is_outcome_unknown(
    running: RunningSandbox, sandbox: AkashSandbox, fast_retry: RetryPolicy
) -> None:
    impatient = AkashProvider(
        sandbox.demo_api_key,
        base_url=running.base_url,
        retry=fast_retry,
        timeout=httpx.Timeout(5.0, read=0.1),  # a caller's timeout overrides the slow-call ones
    )
    sandbox.inject(method="POST", path="/v1/deployments", status=None, delay=0.4)
    with pytest.raises(OutcomeUnknownError) as info:
        await impatient.create(
            AkashCreateSpec(sdl=akash_sdl.build_sdl(GPU_FORM), deposit_usd=Decimal(5))
        )
    assert "may have been carried out" in info.value.message
    assert impatient.http.calls_sent == 1  # sent once, never re-sent
    await impatient.aclose()


async def test_wallet_provisioning_is_a_retriable_409(
    client: AkashProvider, sandbox: AkashSandbox
) -> None:
    sandbox.set_wallet_provisioning(sandbox.demo_api_key)
    with pytest.raises(UnavailableError) as info:
        await client.create(
            AkashCreateSpec(sdl=akash_sdl.build_sdl(GPU_FORM), deposit_usd=Decimal(5))
        )
    assert info.value.status_code == 409
    assert "retry" in info.value.message
    sandbox.set_wallet_provisioning(sandbox.demo_api_key, False)
    assert (
        await client.create(
            AkashCreateSpec(sdl=akash_sdl.build_sdl(GPU_FORM), deposit_usd=Decimal(5))
        )
    ).deployment.status is DeploymentStatus.PENDING


# -- bids and leases --------------------------------------------------------------------------


async def test_bids_arrive_after_the_delay(client: AkashProvider, clock: ManualClock) -> None:
    dseq = await _created(client)
    assert await client.bids(dseq) == []
    clock.advance(9)
    assert await client.bids(dseq) == []
    clock.advance(2)
    bids = await client.bids(dseq)
    assert {b.gpu for b in bids} == {"rtx4090"}
    assert all(b.state == "open" and b.deployment_id == dseq for b in bids)
    assert all(b.denom == "uact" and b.price_per_hour_usd <= 2 for b in bids)
    assert all(b.price_per_hour_usd == b.price_per_block * 600 / 1_000_000 for b in bids)
    assert len({b.provider_address for b in bids}) == len(bids) >= 2


async def test_bids_of_unknown_or_foreign_deployments_are_empty(
    client: AkashProvider, running: RunningSandbox, sandbox: AkashSandbox, fast_retry: RetryPolicy
) -> None:
    assert await client.bids("1234") == []
    other_key = sandbox.add_api_key()
    other = AkashProvider(other_key, base_url=running.base_url, retry=fast_retry)
    demo_with_bids = next(d.dseq for d in sandbox.deployments_of(sandbox.demo_api_key) if d.bids)
    assert await other.bids(demo_with_bids) == []
    await other.aclose()
    with pytest.raises(ValidationError):
        await client.bids("12ab")


async def test_accept_bids_creates_the_lease_and_others_are_lost(
    client: AkashProvider, clock: ManualClock
) -> None:
    dseq, chosen = await _leased(client, clock)
    bids = {b.provider_address: b for b in await client.bids(dseq)}
    assert bids[chosen.provider_address].state == "active"
    assert {b.state for a, b in bids.items() if a != chosen.provider_address} == {"lost"}
    deployment = await client.get(dseq)
    assert deployment.status is DeploymentStatus.STARTING
    assert deployment.cost_per_hour_usd == chosen.price_per_hour_usd
    assert deployment.extras["leases"][0]["provider"] == chosen.provider_address


async def test_accepting_a_lost_bid_is_wrong_state_with_the_provider_text(
    client: AkashProvider, clock: ManualClock, sandbox: AkashSandbox
) -> None:
    dseq = await _created(client)
    clock.advance(11)
    bids = await client.bids(dseq)
    sandbox.close_bids(dseq)
    with pytest.raises(WrongStateError) as info:
        await client.accept_bids(dseq, [bids[0]])
    assert info.value.provider_text == (
        "Failed to create lease: Cannot create lease: The selected bid is no longer open. "
        "Please refresh and select an available bid."
    )
    assert "refresh the bids" in info.value.message


async def test_lease_retry_is_safe_in_era_c(
    client: AkashProvider, clock: ManualClock, sandbox: AkashSandbox
) -> None:
    dseq = await _created(client)
    clock.advance(11)
    bids = await client.bids(dseq)
    sandbox.inject(
        method="POST",
        path="/v1/leases",
        status=503,
        body={
            "error": "ServiceUnavailableError",
            "message": "Provider service is temporarily unavailable",
            "code": "service_unavailable",
            "type": "server_error",
        },
    )
    deployment = await client.accept_bids(dseq, [bids[0]])
    assert sandbox.count("POST", "/v1/leases") == 2
    assert len(deployment.extras["leases"]) == 1
    # accepting again is a no-op that re-sends the manifest (era C)
    again = await client.accept_bids(dseq, [bids[1]])
    assert [lease["provider"] for lease in again.extras["leases"]] == [bids[0].provider_address]


async def test_accept_bids_needs_a_manifest_but_not_the_same_process(
    client: AkashProvider,
    clock: ManualClock,
    running: RunningSandbox,
    fast_retry: RetryPolicy,
    sandbox: AkashSandbox,
) -> None:
    sdl = akash_sdl.build_sdl(GPU_FORM)
    result = await client.create(AkashCreateSpec(sdl=sdl, deposit_usd=Decimal(5)))
    dseq = result.deployment.id
    clock.advance(11)
    replica = AkashProvider(sandbox.demo_api_key, base_url=running.base_url, retry=fast_retry)
    bids = await replica.bids(dseq)
    with pytest.raises(ValidationError) as info:
        await replica.accept_bids(dseq, bids[:1])
    assert "manifest" in info.value.field_errors
    assert sandbox.count("POST", "/v1/leases") == 0
    deployment = await replica.accept_bids(dseq, bids[:1], manifest=result.extras["manifest"])
    assert deployment.extras["leases"][0]["state"] == "active"
    await replica.aclose()


async def test_accept_bids_local_checks(
    client: AkashProvider, clock: ManualClock, sandbox: AkashSandbox
) -> None:
    dseq = await _created(client)
    clock.advance(11)
    bids = await client.bids(dseq)
    with pytest.raises(ValidationError) as info:
        await client.accept_bids(dseq, [])
    assert "bids" in info.value.field_errors
    with pytest.raises(ValidationError) as info:
        await client.accept_bids(dseq, [bids[0], bids[1]])  # two bids for one group
    assert "bids.1" in info.value.field_errors
    with pytest.raises(ValidationError):
        await client.accept_bids("1234", bids[:1])  # bids of another deployment
    assert sandbox.count("POST", "/v1/leases") == 0


async def test_wrong_manifest_is_refused_and_a_retry_with_the_right_one_delivers_it(
    client: AkashProvider, clock: ManualClock
) -> None:
    dseq = await _created(client)
    clock.advance(11)
    bids = await client.bids(dseq)
    other = akash_sdl.manifest_json(
        akash_sdl.build_manifest(
            akash_sdl.load_sdl(akash_sdl.build_sdl(akash_sdl.QuickForm(image="caddy:2")))
        )
    )
    with pytest.raises(ValidationError) as info:
        await client.accept_bids(dseq, bids[:1], manifest=other)
    assert info.value.provider_text == "manifest version validation failed"
    leased = await client.get(dseq)
    assert leased.extras["lease_status_known"] is False  # the provider has no manifest
    fixed = await client.accept_bids(dseq, bids[:1])  # era C: lease exists, manifest re-sent
    assert fixed.status is DeploymentStatus.STARTING
    clock.advance(16)
    assert (await client.get(dseq)).status is DeploymentStatus.RUNNING


# -- get / list -------------------------------------------------------------------------------


async def test_get_running_deployment_has_endpoints(
    client: AkashProvider, clock: ManualClock
) -> None:
    dseq, _ = await _leased(client, clock)
    clock.advance(15)
    deployment = await client.get(dseq)
    assert deployment.status is DeploymentStatus.RUNNING
    (endpoint,) = deployment.endpoints
    assert endpoint.url.startswith("http://") and ".ingress." in endpoint.url
    assert endpoint.label == "app"


async def test_get_unknown_and_foreign_are_not_found(
    client: AkashProvider, raw: httpx.AsyncClient, sandbox: AkashSandbox
) -> None:
    with pytest.raises(NotFoundError) as info:
        await client.get("1234")
    assert info.value.provider_text == "Deployment not found"
    response = await raw.get("/v1/deployments/1234", headers=_headers(sandbox))
    assert response.json() == {
        "error": "NotFoundError",
        "message": "Deployment not found",
        "code": "not_found",
        "type": "client_error",
    }
    other = sandbox.add_api_key()
    demo_dseq = sandbox.deployments_of(sandbox.demo_api_key)[0].dseq
    foreign = await raw.get(f"/v1/deployments/{demo_dseq}", headers={"x-api-key": other})
    assert foreign.status_code == 404
    with pytest.raises(ValidationError):
        await client.get("not-a-dseq")
    assert sandbox.count("GET", "/v1/deployments/not-a-dseq") == 0


async def test_list_pages_through_active_deployments_only(
    running: RunningSandbox, sandbox: AkashSandbox, fast_retry: RetryPolicy
) -> None:
    key = sandbox.add_api_key()
    dseqs = sandbox.seed_bulk(key, 25)
    sandbox.force_close(dseqs[3])
    client = AkashProvider(key, base_url=running.base_url, retry=fast_retry)
    first = await client.list_page(limit=10)
    assert (len(first.items), first.next_cursor, first.total) == (10, "10", 24)
    second = await client.list_page(cursor=first.next_cursor, limit=10)
    third = await client.list_page(cursor=second.next_cursor, limit=10)
    assert (len(third.items), third.next_cursor) == (4, None)
    listed = [d.id for page in (first, second, third) for d in page.items]
    assert listed == [d for d in dseqs if d != dseqs[3]]
    everything = await client.list_deployments()
    assert [d.id for d in everything] == listed
    running_only = await client.list_deployments(status="running")
    assert {d.id for d in running_only} == {d for i, d in enumerate(dseqs) if i % 2 == 0} - {
        dseqs[3]
    }
    with pytest.raises(ValidationError):
        await client.list_page(cursor="next-please")
    with pytest.raises(ValidationError):
        await client.list_page(limit=0)
    await client.aclose()


async def test_list_pagination_envelope(raw: httpx.AsyncClient, sandbox: AkashSandbox) -> None:
    no_params = (await raw.get("/v1/deployments", headers=_headers(sandbox))).json()["data"]
    total = no_params["pagination"]["total"]
    assert no_params["pagination"] == {"total": total, "skip": 0, "limit": total, "hasMore": False}
    assert all("status" not in lease for d in no_params["deployments"] for lease in d["leases"])
    assert all(d["deployment"]["state"] == "active" for d in no_params["deployments"])
    only_limit = (
        await raw.get("/v1/deployments", params={"limit": 1}, headers=_headers(sandbox))
    ).json()["data"]["pagination"]
    assert only_limit["hasMore"] is False  # hasMore only when both skip and limit are given
    both = (
        await raw.get("/v1/deployments", params={"skip": 0, "limit": 1}, headers=_headers(sandbox))
    ).json()["data"]["pagination"]
    assert both["hasMore"] is (total > 1)
    bad = await raw.get("/v1/deployments", params={"limit": 0}, headers=_headers(sandbox))
    assert bad.status_code == 400 and bad.json()["data"][0]["path"] == ["limit"]


async def test_gets_are_retried_on_5xx_and_429(
    client: AkashProvider, sandbox: AkashSandbox
) -> None:
    sandbox.inject(
        method="GET",
        path="/v1/deployments",
        status=502,
        body={
            "error": "BadGatewayError",
            "message": "Database connection timeout",
            "code": "database_timeout",
            "type": "service_unavailable",
        },
    )
    sandbox.inject(
        method="GET",
        path="/v1/deployments",
        status=429,
        headers={"Retry-After": "0"},
        body="Too Many Requests",
    )
    page = await client.list_page()
    assert page.total == 4
    assert sandbox.count("GET", "/v1/deployments") == 3
    sandbox.inject(
        method="GET",
        path="/v1/balances",
        status=500,
        times=10,
        body={
            "error": "InternalServerError",
            "message": "Internal server error",
            "code": "internal_server_error",
            "type": "server_error",
        },
    )
    with pytest.raises(UnavailableError) as info:
        await client.balance()
    assert "Internal server error" in info.value.message
    assert sandbox.count("GET", "/v1/balances") == client.http.retry.max_attempts


# -- deposit / close / revise -----------------------------------------------------------------


async def test_deposit_extends_the_escrow(
    client: AkashProvider, clock: ManualClock, sandbox: AkashSandbox
) -> None:
    dseq, _ = await _leased(client, clock)
    before = await client.get(dseq)
    balance = sandbox.balance_of(sandbox.demo_api_key)
    after = await client.deposit(dseq, Decimal("2.5"))
    assert Decimal(after.extras["escrow_funds_usd"]) == Decimal(
        before.extras["escrow_funds_usd"]
    ) + Decimal("2.5")
    assert sandbox.balance_of(sandbox.demo_api_key) == balance - Decimal("2.5")
    assert after.extras["runway_seconds"] > before.extras["runway_seconds"]
    assert sandbox.count("POST", "/v1/deposit-deployment") == 1


async def test_deposit_errors(client: AkashProvider, sandbox: AkashSandbox) -> None:
    closed = next(
        d.dseq for d in sandbox.deployments_of(sandbox.demo_api_key) if d.state == "closed"
    )
    with pytest.raises(WrongStateError) as info:
        await client.deposit(closed, Decimal(1))
    assert info.value.provider_text == "Deployment closed"
    with pytest.raises(NotFoundError):
        await client.deposit("1234", Decimal(1))
    active = next(
        d.dseq for d in sandbox.deployments_of(sandbox.demo_api_key) if d.state == "active"
    )
    with pytest.raises(InsufficientFundsError):
        await client.deposit(active, Decimal(100_000))
    for bad in (Decimal(0), Decimal(-2), Decimal("0.0000001")):
        with pytest.raises(ValidationError):
            await client.deposit(active, bad)
    assert sandbox.count("POST", "/v1/deposit-deployment") == 3
    sandbox.inject(method="POST", path="/v1/deposit-deployment", status=500)
    with pytest.raises(UnavailableError):
        await client.deposit(active, Decimal(1))
    assert sandbox.count("POST", "/v1/deposit-deployment") == 4  # never re-sent


async def test_close_refunds_and_is_idempotent(
    client: AkashProvider, clock: ManualClock, sandbox: AkashSandbox
) -> None:
    dseq, _ = await _leased(client, clock)
    clock.advance(60)
    funds = sandbox.funds_usd(dseq)
    balance = sandbox.balance_of(sandbox.demo_api_key)
    await client.close(dseq)
    assert sandbox.balance_of(sandbox.demo_api_key) == balance + funds
    await client.close(dseq)  # era C: a repeat is a no-op success
    closed = await client.get(dseq)
    assert closed.status is DeploymentStatus.CLOSED
    assert closed.extras["leases"][0]["state"] == "closed"
    assert closed.extras["leases"][0]["reason"] == "lease_closed_owner"
    assert closed.extras["escrow_state"] == "closed"
    states = [b.state for b in await client.bids(dseq)]
    assert "closed" in states and not {"open", "active"} & set(states)
    assert dseq not in {d.id for d in await client.list_deployments()}
    with pytest.raises(NotFoundError):
        await client.close("1234")


async def test_revise_updates_the_deployment_version(
    client: AkashProvider, clock: ManualClock, sandbox: AkashSandbox
) -> None:
    dseq, _ = await _leased(client, clock)
    clock.advance(20)
    before = await client.get(dseq)
    assert before.status is DeploymentStatus.RUNNING
    new_sdl = akash_sdl.build_sdl(
        akash_sdl.QuickForm(image="nginx:1.28", gpu_model="rtx4090", max_price_usd_per_hour=2)
    )
    revised = await client.revise(dseq, new_sdl)
    assert revised.extras["manifest_hash"] != before.extras["manifest_hash"]
    assert revised.status is DeploymentStatus.STARTING  # the provider redeploys
    same = await client.revise(dseq, new_sdl)
    assert same.extras["manifest_hash"] == revised.extras["manifest_hash"]
    with pytest.raises(ValidationError) as info:
        await client.revise(dseq, new_sdl.replace("count: 1", "count: 0"))
    assert "sdl.deployment.app.dcloud.count" in info.value.field_errors
    closed = next(
        d.dseq for d in sandbox.deployments_of(sandbox.demo_api_key) if d.state == "closed"
    )
    with pytest.raises(WrongStateError):
        await client.revise(closed, new_sdl)


# -- balances / providers / certificates ------------------------------------------------------


async def test_balance(client: AkashProvider, sandbox: AkashSandbox) -> None:
    balance = await client.balance()
    assert balance.available_usd == round(sandbox.balance_of(sandbox.demo_api_key), 6)
    escrowed = sum(
        (
            sandbox.funds_usd(d.dseq)
            for d in sandbox.deployments_of(sandbox.demo_api_key)
            if d.state == "active"
        ),
        Decimal(0),
    )
    assert balance.details["deployments"] == round(escrowed, 6)
    assert balance.details["total"] == balance.details["balance"] + balance.details["deployments"]


async def test_provider_info(
    client: AkashProvider, sandbox: AkashSandbox, raw: httpx.AsyncClient
) -> None:
    europlots = sandbox.provider("europlots")
    info = await client.provider_info(europlots.owner)
    assert info.address == europlots.owner
    assert info.name == "europlots"
    assert info.host_uri == "https://provider.europlots.com:8443"
    assert info.is_audited is True and info.is_online is True
    assert info.gpu_models == ("rtx4090", "a100")
    assert info.region == "Hesse, Germany"
    missing = "akash1" + "q" * 38
    with pytest.raises(NotFoundError) as error:
        await client.provider_info(missing)
    assert error.value.provider_text == "Provider not found."
    response = await raw.get(f"/v1/providers/{missing}")
    assert (response.status_code, response.text) == (404, "Provider not found.")
    with pytest.raises(ValidationError):
        await client.provider_info("cosmos1abc")
    listed = await client.providers()
    assert {p.name for p in listed} >= {"europlots", "hurricane", "homelab-unaudited"}
    narrowed = await client.providers([europlots.owner])
    assert [p.name for p in narrowed] == ["europlots"]


async def test_certificate_removed_in_era_c(
    client: AkashProvider, sandbox: AkashSandbox, raw: httpx.AsyncClient
) -> None:
    assert await client.ensure_certificate() is None
    assert client.certificate is None
    assert sandbox.count("POST", "/v1/certificates") == 1
    response = await raw.post("/v1/certificates", headers=_headers(sandbox))
    assert response.status_code == 400
    assert response.json() == {
        "error": "This endpoint has been removed. mTLS certificates are no longer required as "
        "identity is now verified via API key."
    }


async def test_certificate_era(clock: ManualClock, fast_retry: RetryPolicy) -> None:
    sandbox = AkashSandbox(clock, certificates_required=True)
    async with RunningSandbox(sandbox) as server:
        client = AkashProvider(sandbox.demo_api_key, base_url=server.base_url, retry=fast_retry)
        certificate = await client.ensure_certificate()
        assert certificate is not None and client.certificate is certificate
        assert certificate.cert_pem.startswith("-----BEGIN CERTIFICATE-----")
        assert certificate.pubkey_pem.startswith("-----BEGIN EC PUBLIC KEY-----")
        assert certificate.key_pem.get_secret_value().startswith("-----BEGIN PRIVATE KEY-----")
        dseq = await _created(client)
        clock.advance(11)
        bids = await client.bids(dseq)
        assert all(b.extras["certificate_required"] for b in bids)
        # a lease without the certificate is refused by validation …
        bare = AkashProvider(sandbox.demo_api_key, base_url=server.base_url, retry=fast_retry)
        with pytest.raises(ValidationError) as info:
            await bare.accept_bids(dseq, bids[:1], manifest=client._manifests[dseq])
        assert "certificate" in info.value.field_errors
        await bare.aclose()
        # … and not retried blindly when it fails server-side (not idempotent in this era)
        sandbox.inject(method="POST", path="/v1/leases", status=503)
        with pytest.raises(UnavailableError):
            await client.accept_bids(dseq, bids[:1])
        assert sandbox.count("POST", "/v1/leases") == 2
        deployment = await client.accept_bids(dseq, bids[:1])
        assert deployment.extras["leases"][0]["state"] == "active"
        with pytest.raises(WrongStateError):  # a repeat hits "bid no longer open" here
            await client.accept_bids(dseq, bids[:1])
        await client.close(dseq)
        await client.close(dseq)  # 400 Deployment closed in this era: still done
        assert sandbox.count("DELETE", f"/v1/deployments/{dseq}") == 2
        await client.aclose()


async def test_accounts_are_isolated(
    running: RunningSandbox, sandbox: AkashSandbox, fast_retry: RetryPolicy
) -> None:
    key = sandbox.add_api_key(balance_usd=20)
    other = AkashProvider(key, base_url=running.base_url, retry=fast_retry)
    assert await other.list_deployments() == []
    demo = sandbox.deployments_of(sandbox.demo_api_key)[-1].dseq
    for call in (other.get(demo), other.close(demo), other.deposit(demo, Decimal(1))):
        with pytest.raises(NotFoundError):
            await call
    assert (await other.balance()).available_usd == 20
    await other.aclose()
