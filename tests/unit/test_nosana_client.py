"""The pure parts of the Nosana client: normalization, prices, error mapping, local checks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.providers.errors import (
    AuthenticationError,
    InsufficientFundsError,
    NotFoundError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
    WrongStateError,
)
from bot.providers.models import Capability, DeploymentStatus
from bot.providers.nosana import (
    PAGE_LIMITS,
    NosanaCreateSpec,
    NosanaProvider,
    RouteNotFoundError,
    market_price_per_hour,
    page_limit,
    parse_field_errors,
    to_deployment,
    to_market,
)

KEY = "nos_sk_unitTestKey1234567890abcdef"
MARKET = "97G9NnvBDQ2WpKu6fasoMsAKmfj63C9rhysJnkeWodAf"
DEP_ID = "EjjErych9qKurpqNUmGiU7cXJtyS7FBaB2MdFEYMmjzG"
DEFINITION = {
    "version": "0.1",
    "type": "container",
    "ops": [{"type": "container/run", "id": "web", "args": {"image": "nginx", "expose": 80}}],
}


def raw_deployment(**overrides: Any) -> dict[str, Any]:
    raw = {
        "id": DEP_ID,
        "name": "web",
        "vault": "4fWEPn6BSyRpWbwwtxbCudUEVAXuoBdsqXRteXqKVpkq",
        "market": MARKET,
        "owner": "4fWEPn6BSyRpWbwwtxbCudUEVAXuoBdsqXRteXqKVpkq",
        "status": "RUNNING",
        "replicas": 2,
        "timeout": 60,
        "endpoints": [{"opId": "web", "port": 80, "url": "https://abc.node.k8s.prd.nos.ci"}],
        "confidential": False,
        "active_revision": 3,
        "active_jobs": 2,
        "created_at": "2026-08-21T17:12:51.123Z",
        "updated_at": "2026-08-21T18:00:00.000Z",
        "strategy": "INFINITE",
        "rotation_time": 20,
    }
    raw.update(overrides)
    return raw


@pytest.fixture
async def provider() -> AsyncIterator[NosanaProvider]:
    client = NosanaProvider(KEY, base_url="http://127.0.0.1:9/api")
    yield client
    await client.aclose()


def response(
    status: int, body: Any = None, text: str | None = None, **headers: str
) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


# -- page sizes and prices -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "sent"),
    [(-5, 10), (1, 10), (10, 10), (11, 20), (20, 20), (21, 50), (51, 100), (500, 100)],
)
def test_page_limit_rounds_up_to_an_allowed_size(requested: int, sent: int) -> None:
    assert page_limit(requested) == sent


@given(st.integers(min_value=-1000, max_value=10_000))
def test_page_limit_is_always_allowed_and_large_enough(requested: int) -> None:
    sent = page_limit(requested)
    assert sent in PAGE_LIMITS
    assert sent >= min(requested, 100)


def test_market_price_adds_the_network_fee() -> None:
    assert market_price_per_hour(0.35, 10) == Decimal("0.385")
    assert market_price_per_hour("0.192", "10") == Decimal("0.2112")
    assert market_price_per_hour(1, None) == Decimal(1)
    assert market_price_per_hour(None, 10) is None
    assert market_price_per_hour("free", 10) is None
    assert market_price_per_hour(True, 10) is None


def test_to_market() -> None:
    market = to_market(
        {
            "address": MARKET,
            "name": "NVIDIA RTX 4090",
            "slug": "nvidia-4090",
            "type": "PREMIUM",
            "usd_reward_per_hour": 0.35,
            "network_fee_percentage": 10,
            "gpu_types": ["NVIDIA GeForce RTX 4090"],
            "lowest_vram": 24,
        }
    )
    assert market.id == MARKET
    assert market.price_per_hour_usd == Decimal("0.385")
    assert market.gpu == "NVIDIA GeForce RTX 4090"
    assert market.vram_mb == 24 * 1024
    assert market.extras["type"] == "PREMIUM"


# -- normalization -------------------------------------------------------------------------------


def test_to_deployment_current_shape() -> None:
    deployment = to_deployment(raw_deployment(), Decimal("0.385"))
    assert deployment.status is DeploymentStatus.RUNNING
    assert deployment.raw_status == "RUNNING"
    assert deployment.cost_per_hour_usd == Decimal("0.770")
    assert deployment.replicas == 2
    assert deployment.active_revision == 3
    assert deployment.endpoints[0].url == "https://abc.node.k8s.prd.nos.ci"
    assert deployment.endpoints[0].label == "web"
    assert deployment.created_at is not None and deployment.created_at.tzinfo is not None
    assert deployment.created_at.microsecond == 123_000
    assert deployment.extras["strategy"] == "INFINITE"
    assert deployment.extras["rotation_time_minutes"] == 20
    assert deployment.extras["timeout_minutes"] == 60
    json.dumps(deployment.extras)  # JSON-safe


def test_to_deployment_legacy_shape_counts_running_jobs() -> None:
    raw = raw_deployment(
        jobs=[{"state": "RUNNING"}, {"state": "COMPLETED"}], revisions=[], events=[]
    )
    del raw["active_jobs"]
    deployment = to_deployment(raw)
    assert deployment.extras["active_jobs"] == 1
    assert deployment.extras["legacy_shape"] is True
    assert deployment.cost_per_hour_usd is None


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("DRAFT", DeploymentStatus.DRAFT),
        ("STARTING", DeploymentStatus.STARTING),
        ("STOPPING", DeploymentStatus.STOPPING),
        ("STOPPED", DeploymentStatus.STOPPED),
        ("ERROR", DeploymentStatus.FAILED),
        ("INSUFFICIENT_FUNDS", DeploymentStatus.INSUFFICIENT_FUNDS),
        ("ARCHIVED", DeploymentStatus.ARCHIVED),
        ("MIGRATING", DeploymentStatus.UNKNOWN),
        (None, DeploymentStatus.UNKNOWN),
    ],
)
def test_status_map(raw: Any, normalized: DeploymentStatus) -> None:
    assert to_deployment(raw_deployment(status=raw)).status is normalized


@given(
    status=st.one_of(st.none(), st.text(max_size=20), st.integers()),
    replicas=st.one_of(st.none(), st.integers(-5, 50), st.text(max_size=3), st.floats()),
    created=st.one_of(st.none(), st.text(max_size=30), st.integers(0, 2**40)),
)
def test_to_deployment_never_crashes_on_odd_fields(
    status: Any, replicas: Any, created: Any
) -> None:
    deployment = to_deployment(
        raw_deployment(status=status, replicas=replicas, created_at=created), Decimal(1)
    )
    assert deployment.id == DEP_ID
    if deployment.created_at is not None:
        assert deployment.created_at.tzinfo is not None


@pytest.mark.parametrize("replicas", [float("inf"), float("-inf"), float("nan")])
def test_non_finite_numbers_are_dropped(replicas: float) -> None:
    deployment = to_deployment(raw_deployment(replicas=replicas), Decimal(1))
    assert deployment.replicas is None
    assert deployment.cost_per_hour_usd is None


def test_to_deployment_without_an_id_is_an_unavailable_answer() -> None:
    with pytest.raises(UnavailableError):
        to_deployment({"name": "x"})


# -- field errors from server messages -----------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("body/replicas must be >= 0", {"replicas": "must be >= 0"}),
        ("body must have required property 'timeout'", {"timeout": "is required"}),
        (
            "params/deployment must NOT have fewer than 43 characters",
            {"deployment": "must NOT have fewer than 43 characters"},
        ),
        (
            "querystring/limit must be equal to one of the allowed values",
            {"limit": "must be equal to one of the allowed values"},
        ),
        (
            "replicas: Expected number to be greater or equal to 1, : Expected all values to match",
            {"replicas": "Expected number to be greater or equal to 1"},
        ),
        (
            ": Expected union value, : Expected all values to match",
            {"body": "Expected union value"},
        ),
        (
            "job_definition$input.ops[0].id: string & TagBase<__type>, "
            "job_definition$input.foo: undefined",
            {
                "job_definition.ops[0].id": "string & TagBase<__type>",
                "job_definition.foo": "undefined",
            },
        ),
        (
            '$input.ops[0].args.env: Record<string, string>, $input.version: "0.1"',
            {
                "job_definition.ops[0].args.env": "Record<string, string>",
                "job_definition.version": '"0.1"',
            },
        ),
        ("/timeout: Expected number", {"timeout": "Expected number"}),
        ("Invalid request body.", {}),
    ],
)
def test_parse_field_errors(message: str, expected: dict[str, str]) -> None:
    assert parse_field_errors(message) == expected


@given(st.text(max_size=200))
def test_parse_field_errors_never_crashes(message: str) -> None:
    result = parse_field_errors(message)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in result.items())


# -- error mapping -------------------------------------------------------------------------------


def test_401_plain_text_is_an_auth_error(provider: NosanaProvider) -> None:
    error = provider.map_error(response(401, text="Unauthorized"))
    assert isinstance(error, AuthenticationError)
    assert error.provider_text == "Unauthorized"


def test_not_found_and_route_not_found_are_distinguishable(provider: NosanaProvider) -> None:
    missing = provider.map_error(response(404, {"error": "Deployment not found."}))
    assert type(missing) is NotFoundError
    assert "Deployment not found." in missing.message
    route = provider.map_error(
        response(
            404,
            {
                "message": "Route PATCH:/deployments/X/update-name not found",
                "error": "Not Found",
                "statusCode": 404,
            },
        )
    )
    assert isinstance(route, RouteNotFoundError)
    assert isinstance(route, NotFoundError)


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (500, "Deployment is in the incorrect state."),
        (500, "Cannot modify an archived deployment."),
        (400, "Deployment is using an incorrect strategy."),
    ],
)
def test_wrong_state_texts_map_to_wrong_state_not_unavailable(
    provider: NosanaProvider, status: int, text: str
) -> None:
    error = provider.map_error(response(status, {"error": text}))
    assert isinstance(error, WrongStateError)
    assert error.provider_text == text
    assert text in error.message


def test_fastify_validation_carries_field_errors(provider: NosanaProvider) -> None:
    body = {
        "statusCode": 400,
        "code": "FST_ERR_VALIDATION",
        "error": "Bad Request",
        "message": "body/replicas must be >= 0",
    }
    error = provider.map_error(response(400, body))
    assert isinstance(error, ValidationError)
    assert error.field_errors == {"replicas": "must be >= 0"}
    assert "body/replicas must be >= 0" in error.message


def test_known_400_texts_belong_to_a_field(provider: NosanaProvider) -> None:
    error = provider.map_error(response(400, {"error": "The specified revision does not exist."}))
    assert isinstance(error, ValidationError)
    assert error.field_errors == {"active_revision": "The specified revision does not exist."}


def test_insufficient_credits(provider: NosanaProvider) -> None:
    text = "Insufficient credits to list job. Required: $0.385, Available: $0.000"
    error = provider.map_error(response(500, {"error": text}))
    assert isinstance(error, InsufficientFundsError)
    assert "Available: $0.000" in error.message


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"error": "Internal server error."}),
        (502, None),
        (503, {"name": "MongoError", "message": "down"}),
    ],
)
def test_other_5xx_are_unavailable(provider: NosanaProvider, status: int, body: Any) -> None:
    assert isinstance(provider.map_error(response(status, body)), UnavailableError)


def test_429_and_other_statuses(provider: NosanaProvider) -> None:
    limited = provider.map_error(response(429, {"error": "slow down"}, **{"Retry-After": "7"}))
    assert isinstance(limited, RateLimitedError)
    assert limited.retry_after == 7
    teapot = provider.map_error(response(418, text="teapot"))
    assert type(teapot) is ProviderError


async def test_the_api_key_is_scrubbed_from_provider_text() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": f"bad key {KEY} sent"})

    client = NosanaProvider(
        KEY, base_url="http://nosana.test/api", transport=httpx.MockTransport(answer)
    )
    with pytest.raises(ValidationError) as caught:
        await client.balance()
    await client.aclose()
    assert KEY not in caught.value.message
    assert KEY not in (caught.value.provider_text or "")
    assert "[redacted]" in caught.value.message


def test_the_key_is_not_in_repr_or_headers_repr(provider: NosanaProvider) -> None:
    assert KEY not in repr(provider)
    assert KEY not in repr(provider.http)
    headers = NosanaProvider.auth_headers(provider._api_key)
    assert headers["Authorization"].get_secret_value() == f"Bearer {KEY}"
    assert KEY not in repr(headers)


# -- available actions ---------------------------------------------------------------------------

BASE = {Capability.LOGS, Capability.EVENTS, Capability.JOBS}
EDIT = {
    Capability.SCALE,
    Capability.TIMEOUT,
    Capability.REVISE,
    Capability.ROLLBACK,
    Capability.RENAME,
}


@pytest.mark.parametrize(
    ("status", "strategy", "expected"),
    [
        ("DRAFT", "SIMPLE", BASE | EDIT | {Capability.START}),
        ("STARTING", "SIMPLE", BASE | EDIT),
        ("RUNNING", "SIMPLE", BASE | EDIT | {Capability.STOP}),
        ("RUNNING", "SCHEDULED", BASE | EDIT | {Capability.STOP, Capability.SCHEDULE}),
        ("STOPPING", "INFINITE", BASE | EDIT),
        (
            "STOPPED",
            "SIMPLE",
            BASE | EDIT | {Capability.START, Capability.ARCHIVE, Capability.DELETE},
        ),
        ("ERROR", "SIMPLE", BASE | EDIT | {Capability.START, Capability.STOP}),
        ("INSUFFICIENT_FUNDS", "SIMPLE", BASE | EDIT | {Capability.START, Capability.STOP}),
        ("ARCHIVED", "SCHEDULED", BASE),
        ("SOMETHING_NEW", "SIMPLE", BASE),
    ],
)
def test_available_actions_follow_the_state_machine(
    provider: NosanaProvider, status: str, strategy: str, expected: set[Capability]
) -> None:
    deployment = to_deployment(raw_deployment(status=status, strategy=strategy))
    actions = provider.available_actions(deployment)
    assert actions == expected
    assert actions <= provider.capabilities


# -- the create spec -----------------------------------------------------------------------------


def spec(**overrides: Any) -> dict[str, Any]:
    data = {"name": "web", "market": MARKET, "timeout": 60, "job_definition": DEFINITION}
    data.update(overrides)
    return data


def test_a_valid_spec_and_its_body() -> None:
    checked = NosanaCreateSpec.parse(spec(market=f"  {MARKET} "))
    assert checked.market == MARKET
    assert checked.to_body() == {
        "name": "web",
        "market": MARKET,
        "strategy": "SIMPLE",
        "replicas": 1,
        "timeout": 60,
        "job_definition": DEFINITION,
    }
    body = NosanaCreateSpec.parse(spec(autostart=True, confidential=False)).to_body()
    assert body["autostart"] is True
    assert body["confidential"] is False


def test_scheduled_and_infinite_bodies() -> None:
    scheduled = NosanaCreateSpec.parse(spec(strategy="SCHEDULED", schedule=" 0  3 * * * "))
    assert scheduled.to_body()["schedule"] == "0 3 * * *"
    infinite = NosanaCreateSpec.parse(spec(strategy="INFINITE", timeout=120, rotation_time=30))
    assert infinite.to_body()["rotation_time"] == 30


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"replicas": 0}, "replicas"),
        ({"timeout": 0}, "timeout"),
        ({"name": "  "}, "name"),
        ({"market": "not-a-market"}, "market"),
        ({"strategy": "FOREVER"}, "strategy"),
        ({"strategy": "INFINITE", "timeout": 59}, "timeout"),
        ({"strategy": "INFINITE", "timeout": 60, "rotation_time": 50}, "rotation_time"),
        ({"rotation_time": 20}, "rotation_time"),
        ({"strategy": "SCHEDULED"}, "schedule"),
        ({"strategy": "SCHEDULED", "schedule": "every day"}, "schedule"),
        ({"schedule": "0 * * * *"}, "schedule"),
        ({"surprise": 1}, "surprise"),
        ({"job_definition": {**DEFINITION, "version": "2"}}, "job_definition.version"),
        ({"job_definition": "nope"}, "job_definition"),
    ],
)
def test_invalid_specs_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        NosanaCreateSpec.parse(spec(**overrides))
    assert field in caught.value.field_errors, caught.value.field_errors
    assert caught.value.message.startswith("The Nosana deployment is not valid: ")
    assert field in caught.value.message


def test_parse_accepts_other_models() -> None:
    original = NosanaCreateSpec.parse(spec())
    assert NosanaCreateSpec.parse(original) is original
    assert NosanaCreateSpec.parse(original.model_copy(update={"name": "x"})).name == "x"
