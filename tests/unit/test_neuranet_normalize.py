"""NeuraNET pure parts: normalization, money, times, error mapping, available actions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
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
    NotSupportedError,
    OutcomeUnknownError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
    WrongStateError,
)
from bot.providers.models import Capability, DeploymentStatus
from bot.providers.neuranet import (
    NeuraNetProvider,
    cents_to_usd,
    error_text,
    field_errors_from,
    node_to_market,
    normalize_deployment,
    normalize_log_line,
    normalize_status,
    parse_time,
)

KEY = "nn_live_UnitTestKey0123456789abcdefghij"
BASE = "https://api.neuranet.network/api"

# The docs' examples.
DOC_DEPLOYMENT: dict[str, Any] = {
    "id": "dep_xyz789",
    "userId": "user_abc123",
    "nodeId": "node_abc123",
    "templateId": "ollama",
    "name": "my-ollama-server",
    "status": "running",
    "endpoints": [
        {"type": "https", "url": "https://dep-xyz789.neuranet.network", "internalPort": 11434}
    ],
    "env": {"OLLAMA_MODELS": "llama2,mistral", "HF_TOKEN": "hf_secret"},
    "totalCost": 250,
    "createdAt": "2024-01-15T10:30:00Z",
    "startedAt": "2024-01-15T10:32:00Z",
}
DOC_NODE: dict[str, Any] = {
    "id": "node_abc123",
    "name": "GPU Server 1",
    "status": "online",
    "specs": {
        "cpuModel": "AMD EPYC",
        "cpuCores": 16,
        "cpuThreads": 32,
        "ramMb": 65536,
        "diskGb": 500,
        "diskType": "nvme",
    },
    "gpus": [{"name": "NVIDIA RTX 4090", "vramMb": 24576, "cudaVersion": "12.3"}],
    "region": "us-east",
    "country": "US",
    "hourlyRateCents": 150,
    "activeDeployments": 2,
    "maxDeployments": 5,
    "uptimePercent": 99.5,
}


@pytest.fixture
async def provider() -> Any:
    client = NeuraNetProvider(KEY, base_url=BASE)
    yield client
    await client.aclose()


def response(
    status: int, body: Any = None, *, method: str = "GET", path: str = "/deployments/dep_1"
) -> httpx.Response:
    request = httpx.Request(method, BASE + path)
    if isinstance(body, str):
        return httpx.Response(status, text=body, request=request)
    if body is None:
        return httpx.Response(status, request=request)
    return httpx.Response(status, json=body, request=request)


# -- statuses and deployments --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("pending", DeploymentStatus.PENDING),
        ("starting", DeploymentStatus.STARTING),
        ("running", DeploymentStatus.RUNNING),
        ("stopping", DeploymentStatus.STOPPING),
        ("stopped", DeploymentStatus.STOPPED),
        ("failed", DeploymentStatus.FAILED),
        ("error", DeploymentStatus.FAILED),
        ("Running", DeploymentStatus.RUNNING),
        ("deleted", DeploymentStatus.UNKNOWN),
        ("", DeploymentStatus.UNKNOWN),
        (None, DeploymentStatus.UNKNOWN),
        (3, DeploymentStatus.UNKNOWN),
    ],
)
def test_status_map(raw: Any, status: DeploymentStatus) -> None:
    normalized, text = normalize_status(raw)
    assert normalized is status
    assert text == ("" if raw is None else str(raw))


@given(st.text())
def test_any_status_text_is_kept_verbatim(raw: str) -> None:
    status, text = normalize_status(raw)
    assert text == raw
    known = {"pending", "starting", "running", "stopping", "stopped", "failed", "error"}
    assert (status is DeploymentStatus.UNKNOWN) == (raw.strip().lower() not in known)


def test_the_docs_deployment() -> None:
    node = node_to_market(DOC_NODE)
    deployment = normalize_deployment(DOC_DEPLOYMENT, node=node)
    assert deployment.provider == "neuranet"
    assert deployment.id == "dep_xyz789" and deployment.name == "my-ollama-server"
    assert deployment.status is DeploymentStatus.RUNNING and deployment.raw_status == "running"
    assert deployment.total_cost_usd == Decimal("2.50")
    assert deployment.cost_per_hour_usd == Decimal("1.50")
    assert deployment.created_at == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert deployment.started_at == datetime(2024, 1, 15, 10, 32, tzinfo=UTC)
    assert deployment.replicas is None
    (endpoint,) = deployment.endpoints
    assert (endpoint.url, endpoint.port, endpoint.label) == (
        "https://dep-xyz789.neuranet.network",
        11434,
        "https",
    )
    extras = deployment.extras
    assert extras["node_id"] == "node_abc123" and extras["node_name"] == "GPU Server 1"
    assert extras["node_gpu"] == "NVIDIA RTX 4090" and extras["node_region"] == "us-east"
    assert extras["env_keys"] == ["HF_TOKEN", "OLLAMA_MODELS"]
    assert "hf_secret" not in json.dumps(extras)


@pytest.mark.parametrize(
    ("status", "cost"),
    [
        ("pending", Decimal("1.50")),
        ("starting", Decimal("1.50")),
        ("running", Decimal("1.50")),
        ("stopping", Decimal("1.50")),
        ("stopped", Decimal("0")),
        ("failed", Decimal("0")),
        ("hibernating", None),
    ],
)
def test_cost_per_hour_follows_the_status(status: str, cost: Decimal | None) -> None:
    deployment = normalize_deployment(
        {**DOC_DEPLOYMENT, "status": status}, node=node_to_market(DOC_NODE)
    )
    assert deployment.cost_per_hour_usd == cost
    assert deployment.extras["node_hourly_rate_usd"] == "1.50"


def test_an_explicit_rate_wins_and_no_node_means_no_rate() -> None:
    assert normalize_deployment(DOC_DEPLOYMENT).cost_per_hour_usd is None
    explicit = normalize_deployment(
        DOC_DEPLOYMENT, node=node_to_market(DOC_NODE), hourly_rate_usd=Decimal("2")
    )
    assert explicit.cost_per_hour_usd == Decimal("2")


def test_a_minimal_or_odd_deployment_does_not_crash() -> None:
    deployment = normalize_deployment(
        {
            "id": "dep_1",
            "status": "quantum",
            "endpoints": [
                "https://x.example",
                {"url": ""},
                {"url": "https://y", "internalPort": True},
                7,
            ],
            "totalCost": "n/a",
            "createdAt": "yesterday",
            "startedAt": 1_700_000_000_000,
            "env": ["A=1"],
            "templateId": {"weird": [1, 2.5]},
        }
    )
    assert deployment.status is DeploymentStatus.UNKNOWN and deployment.raw_status == "quantum"
    assert deployment.name == "dep_1"
    assert [(e.url, e.port) for e in deployment.endpoints] == [
        ("https://x.example", None),
        ("https://y", None),
    ]
    assert deployment.total_cost_usd is None and deployment.created_at is None
    assert deployment.started_at == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert deployment.extras["env_keys"] == []
    json.dumps(deployment.extras)


def test_name_falls_back_to_the_template() -> None:
    assert normalize_deployment({"id": "dep_1", "templateId": "vllm"}).name == "vllm"


@pytest.mark.parametrize("raw", [{}, {"id": ""}, {"id": None}, {"id": True}, {"id": ["x"]}])
def test_a_deployment_without_an_id_is_an_unexpected_answer(raw: dict[str, Any]) -> None:
    with pytest.raises(UnavailableError, match="without an id"):
        normalize_deployment(raw)


# -- money and time ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "usd"),
    [
        (150, Decimal("1.50")),
        (0, Decimal("0")),
        ("250", Decimal("2.50")),
        (2.5, Decimal("0.025")),
        (-30, Decimal("-0.30")),
        (None, None),
        (True, None),
        ("abc", None),
        ("NaN", None),
        (float("inf"), None),
        ([1], None),
    ],
)
def test_cents_to_usd(value: Any, usd: Decimal | None) -> None:
    assert cents_to_usd(value) == usd


@given(st.integers(min_value=0, max_value=10**12))
def test_cents_to_usd_is_exact(cents: int) -> None:
    usd = cents_to_usd(cents)
    assert usd is not None and usd * 100 == cents


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-15T10:30:00Z", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("2024-01-15T10:30:00.123Z", datetime(2024, 1, 15, 10, 30, 0, 123000, tzinfo=UTC)),
        (
            "2024-01-15T12:30:00+02:00",
            datetime(2024, 1, 15, 12, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2024-01-15T10:30:00", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        (1_705_314_600, datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        (1_705_314_600_000, datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("", None),
        ("soon", None),
        (None, None),
        (False, None),
        (float("nan"), None),
        (10**30, None),
    ],
)
def test_parse_time(value: Any, expected: datetime | None) -> None:
    parsed = parse_time(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is not None


@given(st.text(max_size=40))
def test_parse_time_never_raises(text: str) -> None:
    parsed = parse_time(text)
    assert parsed is None or parsed.tzinfo is not None


# -- nodes and logs ------------------------------------------------------------------------


def test_the_docs_node() -> None:
    market = node_to_market(DOC_NODE)
    assert market.id == "node_abc123" and market.name == "GPU Server 1"
    assert market.price_per_hour_usd == Decimal("1.50")
    assert market.gpu == "NVIDIA RTX 4090" and market.vram_mb == 24576
    assert market.region == "us-east" and market.status == "online" and market.load == "2/5"
    assert market.extras["accepting"] is True and market.extras["country"] == "US"
    assert market.extras["uptime_percent"] == 99.5
    json.dumps(market.extras)


def test_nodes_with_several_or_no_gpus() -> None:
    mixed = node_to_market(
        {
            **DOC_NODE,
            "gpus": [
                {"name": "NVIDIA A100", "vramMb": 81920},
                {"name": "NVIDIA L4", "vramMb": 24576},
            ],
            "activeDeployments": 5,
        }
    )
    assert mixed.gpu == "NVIDIA A100, NVIDIA L4" and mixed.vram_mb == 81920
    assert mixed.extras["accepting"] is False and mixed.extras["gpu_count"] == 2
    bare = node_to_market({"id": "node_cpu", "gpus": None, "status": 1})
    assert bare.gpu is None and bare.vram_mb is None and bare.load is None
    assert bare.status is None and bare.price_per_hour_usd is None and bare.name == "node_cpu"
    with pytest.raises(UnavailableError):
        node_to_market({"name": "no id"})


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {"timestamp": "2024-01-15T10:32:00Z", "stream": "stdout", "message": "Server started"},
            ("Server started", "stdout", datetime(2024, 1, 15, 10, 32, tzinfo=UTC)),
        ),
        ({"message": "oops", "stream": "stderr"}, ("oops", "stderr", None)),
        ({"stream": "system", "message": 42}, ("42", "system", None)),
        ({}, ("", "stdout", None)),
        ("plain line", ("plain line", "stdout", None)),
    ],
)
def test_log_lines(item: Any, expected: tuple[str, str, datetime | None]) -> None:
    line = normalize_log_line(item)
    assert (line.message, line.stream, line.timestamp) == expected


# -- protocol facts ------------------------------------------------------------------------


def test_capabilities_and_auth_header(provider: NeuraNetProvider) -> None:
    assert provider.capabilities == {
        Capability.CREATE,
        Capability.START,
        Capability.STOP,
        Capability.DELETE,
        Capability.LOGS,
        Capability.NODES,
    }
    headers = NeuraNetProvider.auth_headers(provider._api_key)
    assert headers["Authorization"].get_secret_value() == f"Bearer {KEY}"
    assert KEY not in repr(headers) and KEY not in repr(provider)


@pytest.mark.parametrize(
    ("status", "actions"),
    [
        ("pending", {Capability.STOP}),
        ("starting", {Capability.STOP}),
        ("running", {Capability.STOP}),
        ("stopping", set()),
        ("stopped", {Capability.START}),
        ("failed", {Capability.START}),
        ("error", {Capability.START}),
        ("teleporting", set()),
    ],
)
def test_available_actions(
    provider: NeuraNetProvider, status: str, actions: set[Capability]
) -> None:
    deployment = normalize_deployment({"id": "dep_1", "status": status})
    assert provider.available_actions(deployment) == actions | {Capability.DELETE, Capability.LOGS}
    assert provider.available_actions(deployment) <= provider.capabilities


async def test_unsupported_operations_say_so(provider: NeuraNetProvider) -> None:
    with pytest.raises(NotSupportedError, match="NeuraNET does not support scaling"):
        await provider.scale("dep_1", 2)


# -- error mapping -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resp", "kind", "words"),
    [
        (response(401, {"error": "Invalid API key"}), AuthenticationError, "Invalid API key"),
        (response(401, {"message": "Missing API key"}), AuthenticationError, "Missing API key"),
        (response(403, "Forbidden"), AuthenticationError, "Forbidden"),
        (response(404, {"error": "Deployment not found"}), NotFoundError, "no such deployment"),
        (
            response(404, {"error": "Node not found"}, path="/nodes/x"),
            NotFoundError,
            "no such node",
        ),
        (response(404, None), NotFoundError, "Not Found"),
        (response(409, {"error": "Deployment is already running"}), WrongStateError, "already"),
        (response(400, {"error": "Deployment is not running"}), WrongStateError, "not running"),
        (response(400, {"message": "Cannot start deployment"}), WrongStateError, "Cannot start"),
        (response(400, {"error": "Bad request"}), ValidationError, "Bad request"),
        (response(422, "unprocessable"), ValidationError, "unprocessable"),
        (response(402, {"error": "Payment required"}), InsufficientFundsError, "Payment required"),
        (response(400, {"error": "Insufficient balance"}), InsufficientFundsError, "balance"),
        (response(403, {"error": "insufficient credits"}), InsufficientFundsError, "credits"),
        (response(403, {"error": "Insufficient permissions"}), AuthenticationError, "permission"),
        (response(404, {"error": "Top up first"}), InsufficientFundsError, "Top up"),
        (response(429, {"error": "Slow down"}), RateLimitedError, "Slow down"),
        (response(500, {"error": "boom"}), UnavailableError, "boom"),
        (response(503, "<html>down</html>"), UnavailableError, "Service Unavailable"),
        (response(500, {"error": "boom"}, method="POST"), OutcomeUnknownError, "may or may not"),
        (response(502, "", method="DELETE"), OutcomeUnknownError, "Bad Gateway"),
        (response(418, "I'm a teapot"), ProviderError, "HTTP 418"),
    ],
)
def test_error_mapping(
    provider: NeuraNetProvider, resp: httpx.Response, kind: type[ProviderError], words: str
) -> None:
    error = provider.map_error(resp)
    assert type(error) is kind
    assert words in error.message
    assert error.provider == "neuranet" and error.status_code == resp.status_code
    assert "\n" not in error.message


@pytest.mark.parametrize(
    "text",
    [
        "Node node_x is not accepting deployments",
        "Node is offline",
        "Node node_9 is at capacity",
        "node under maintenance",
        "Node node_1 is full",
    ],
)
@pytest.mark.parametrize("status", [400, 409])
def test_a_node_that_cannot_take_a_deployment_is_a_node_id_problem(
    provider: NeuraNetProvider, text: str, status: int
) -> None:
    error = provider.map_error(
        response(status, {"error": text}, method="POST", path="/deployments")
    )
    assert isinstance(error, ValidationError)
    assert error.field_errors["node_id"] == text
    assert "Pick another node" in error.message


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"error": "Validation failed", "details": [{"path": "nodeId", "message": "Required"}]},
            {"node_id": "Required"},
        ),
        (
            {
                "error": "Invalid",
                "issues": [{"path": ["body", "env", "A"], "message": "Expected string"}],
            },
            {"env.A": "Expected string"},
        ),
        (
            {"errors": [{"param": "templateId", "msg": "Unknown template"}, "noise", {"msg": "x"}]},
            {"template_id": "Unknown template"},
        ),
        (
            {"message": "Bad", "details": {"customImage": ["is invalid", "too long"]}},
            {"custom_image": "is invalid; too long"},
        ),
        (
            {"error": {"message": "Nope", "fields": {"name": {"message": "too long"}}}},
            {"name": "too long"},
        ),
        ({"error": "Nope", "details": "free text"}, {}),
        ([1, 2], {}),
    ],
)
def test_field_errors_from_the_usual_shapes(body: Any, fields: dict[str, str]) -> None:
    assert field_errors_from(body) == fields


def test_a_validation_error_lists_the_fields(provider: NeuraNetProvider) -> None:
    error = provider.map_error(
        response(
            400,
            {"error": "Validation failed", "details": [{"path": "nodeId", "message": "Required"}]},
            method="POST",
            path="/deployments",
        )
    )
    assert isinstance(error, ValidationError)
    assert error.field_errors == {"node_id": "Required"}
    assert (
        error.message == "NeuraNET rejected the request: “Validation failed” (node_id: Required)."
    )


def test_a_field_message_saying_not_running_stays_a_validation_error(
    provider: NeuraNetProvider,
) -> None:
    error = provider.map_error(
        response(400, {"error": "Node is not running", "details": {"nodeId": "x"}})
    )
    assert type(error) is ValidationError


def test_rate_limit_mapping_keeps_retry_after(provider: NeuraNetProvider) -> None:
    request = httpx.Request("GET", BASE + "/deployments")
    error = provider.map_error(
        httpx.Response(429, text="slow", headers={"Retry-After": "12"}, request=request)
    )
    assert isinstance(error, RateLimitedError) and error.retry_after == 12


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"error": "Bad", "message": "nodeId is required"}, "Bad: nodeId is required"),
        ({"error": "Same", "message": "Same"}, "Same"),
        ({"detail": "Only detail"}, "Only detail"),
        ({"success": False}, "{'success': False}"),
        ({}, "fallback"),
        ("  multi\n  line\ttext ", "multi line text"),
        ("x" * 1000, "x" * 299 + "…"),
        (None, "fallback"),
    ],
)
def test_error_text(body: Any, text: str) -> None:
    assert error_text(body, "fallback") == text


#: map_error does no I/O, so one client (never opened) serves every hypothesis example.
_MAPPER = NeuraNetProvider(KEY, base_url=BASE)


@given(status=st.sampled_from([400, 401, 402, 403, 404, 409, 422, 429, 500, 502]), text=st.text())
def test_any_error_body_maps_to_one_line_without_the_key(status: int, text: str) -> None:
    for body in (text + KEY, {"error": KEY + text}, {"message": text, "details": {KEY: text}}):
        error = _MAPPER.map_error(response(status, body))
        assert isinstance(error, ProviderError)
        assert KEY not in error.message and KEY not in (error.provider_text or "")
        fields = getattr(error, "field_errors", {})
        assert all(KEY not in k and KEY not in v for k, v in fields.items())
        assert "\n" not in error.message and "\r" not in error.message
