"""Pure parts of the Akash client: normalization, error mapping, runway, actions, specs."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from pydantic import ValidationError as PydanticValidationError

from bot.providers.akash import (
    AkashCertificate,
    AkashCreateSpec,
    AkashProvider,
    escrow_runway,
    normalize_bid,
    normalize_deployment,
    usd_per_hour,
)
from bot.providers.errors import (
    AuthenticationError,
    InsufficientFundsError,
    NotFoundError,
    NotSupportedError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
    WrongStateError,
)
from bot.providers.models import Capability, DeploymentStatus

OWNER = "akash1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu"
PROVIDER = "akash18ga02jzaq8cw52anyhzkwta5wygufgu6zsz6xc"
KEY = "ac.sk.production." + "ab" * 32


def _coin(amount: str) -> list[dict[str, str]]:
    return [{"denom": "uact", "amount": amount}]


def _lease(state: str = "active", status: Any = "absent", **extra: Any) -> dict[str, Any]:
    lease: dict[str, Any] = {
        "id": {
            "owner": OWNER,
            "dseq": "1793534400000",
            "gseq": 1,
            "oseq": 1,
            "provider": PROVIDER,
            "bseq": 0,
        },
        "state": state,
        "price": {"denom": "uact", "amount": "750.000000000000000000"},
        "created_at": "24000010",
        "closed_on": "0",
    }
    if status != "absent":
        lease["status"] = status
    lease.update(extra)
    return lease


def _detail(
    state: str = "active",
    leases: list[dict[str, Any]] | None = None,
    funds: str = "5000000.000000000000000000",
    escrow_state: str = "open",
) -> dict[str, Any]:
    return {
        "deployment": {
            "id": {"owner": OWNER, "dseq": "1793534400000"},
            "state": state,
            "hash": "q1w2e3=",
            "created_at": "24000000",
        },
        "leases": leases or [],
        "escrow_account": {
            "id": {"scope": "deployment", "xid": f"{OWNER}/1793534400000"},
            "state": {
                "owner": OWNER,
                "state": escrow_state,
                "transferred": _coin("1500.000000000000000000"),
                "settled_at": "24000100",
                "funds": _coin(funds),
                "deposits": [],
            },
        },
    }


READY = {
    "services": {
        "web": {
            "name": "web",
            "available": 1,
            "total": 1,
            "uris": ["abc123.ingress.europlots.com"],
            "observed_generation": 1,
            "replicas": 1,
            "updated_replicas": 1,
            "ready_replicas": 1,
            "available_replicas": 1,
        }
    },
    "forwarded_ports": {
        "web": [
            {"host": "provider.europlots.com", "port": 22, "externalPort": 31522, "available": 1}
        ]
    },
    "ips": None,
}


# -- normalization ----------------------------------------------------------------------------


def test_pending_without_lease() -> None:
    d = normalize_deployment(_detail())
    assert d.status is DeploymentStatus.PENDING
    assert d.raw_status == "active (waiting for bids)"
    assert d.cost_per_hour_usd == 0
    assert d.id == "1793534400000"
    assert d.created_at == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    assert d.extras["escrow_funds_usd"] == "5"
    assert d.extras["runway_seconds"] is None


def test_running_with_ready_lease_has_uris_and_ports() -> None:
    d = normalize_deployment(_detail(leases=[_lease(status=READY)]))
    assert d.status is DeploymentStatus.RUNNING
    assert d.raw_status == "active"
    assert [e.url for e in d.endpoints] == [
        "http://abc123.ingress.europlots.com",
        "provider.europlots.com:31522",
    ]
    assert d.endpoints[1].port == 31522
    assert {e.label for e in d.endpoints} == {"web"}
    assert d.cost_per_hour_usd == Decimal("0.45")
    assert d.total_cost_usd == Decimal("0.0015")
    assert d.replicas == 1
    # lease created 10 blocks after the deployment
    assert d.started_at == d.created_at + timedelta(seconds=60)  # type: ignore[operator]
    lease = d.extras["leases"][0]
    assert lease["provider"] == PROVIDER
    assert (lease["gseq"], lease["oseq"], lease["bseq"]) == (1, 1, 0)
    assert lease["price_per_hour_usd"] == "0.45"
    assert d.extras["runway_seconds"] == (5_000_000 // 750) * 6


def test_starting_while_services_not_available_and_nulls_are_empty() -> None:
    not_ready = copy.deepcopy(READY)
    not_ready["services"]["web"].update(available=0, uris=None, ready_replicas=0)
    not_ready["forwarded_ports"] = None
    d = normalize_deployment(_detail(leases=[_lease(status=not_ready)]))
    assert d.status is DeploymentStatus.STARTING
    assert d.raw_status == "active (lease starting)"
    assert d.endpoints == ()


def test_unknown_readiness_counts_as_running() -> None:
    listed = normalize_deployment(_detail(leases=[_lease()]))  # list item: no status key
    unreachable = normalize_deployment(_detail(leases=[_lease(status=None)]))
    for d in (listed, unreachable):
        assert d.status is DeploymentStatus.RUNNING
        assert d.extras["lease_status_known"] is False
        assert d.endpoints == ()


def test_funds_ran_out() -> None:
    lease = _lease(
        state="insufficient_funds",
        reason="lease_closed_reason_insufficient_funds",
        closed_on="24000900",
    )
    d = normalize_deployment(
        _detail(
            state="closed", leases=[lease], funds="0.000000000000000000", escrow_state="overdrawn"
        )
    )
    assert d.status is DeploymentStatus.INSUFFICIENT_FUNDS
    assert d.raw_status == "closed (insufficient funds)"
    assert d.cost_per_hour_usd == 0
    assert d.extras["leases"][0]["reason"] == "lease_closed_reason_insufficient_funds"


def test_closed_by_owner() -> None:
    lease = _lease(state="closed", reason="lease_closed_owner", closed_on="24000900")
    d = normalize_deployment(_detail(state="closed", leases=[lease], escrow_state="closed"))
    assert d.status is DeploymentStatus.CLOSED
    assert d.raw_status == "closed"


def test_active_deployment_whose_leases_all_closed_is_failed() -> None:
    lease = _lease(state="closed", reason="lease_closed_reason_unstable")
    d = normalize_deployment(_detail(leases=[lease]))
    assert d.status is DeploymentStatus.FAILED


def test_unknown_state_never_crashes() -> None:
    d = normalize_deployment(_detail(state="paused_by_aliens"))
    assert d.status is DeploymentStatus.UNKNOWN
    assert d.raw_status == "paused_by_aliens"


def test_era_a_shapes_are_understood() -> None:
    item = {
        "deployment": {
            "deployment_id": {"owner": OWNER, "dseq": "19001234"},
            "state": "active",
            "version": "abc=",
            "created_at": "19001234",
        },
        "leases": [
            {
                "lease_id": {
                    "owner": OWNER,
                    "dseq": "19001234",
                    "gseq": 1,
                    "oseq": 1,
                    "provider": PROVIDER,
                },
                "state": "active",
                "price": {"denom": "ibc/170C6776AB", "amount": "100.0"},
                "created_at": "19001240",
                "closed_on": "0",
                "status": None,
            }
        ],
        "escrow_account": {
            "id": {"scope": "deployment", "xid": "19001234"},
            "owner": OWNER,
            "state": "open",
            "balance": {"denom": "ibc/170C6776AB", "amount": "5000000.0"},
            "transferred": {"denom": "ibc/170C6776AB", "amount": "0"},
            "funds": {"denom": "ibc/170C6776AB", "amount": "5000000.0"},
        },
    }
    d = normalize_deployment(item)
    assert d.id == "19001234"
    assert d.status is DeploymentStatus.RUNNING
    assert d.created_at is None  # a block height, not a timestamp
    assert d.cost_per_hour_usd == Decimal("0.06")
    assert d.extras["escrow_state"] == "open"
    assert d.extras["manifest_hash"] == "abc="
    assert escrow_runway(d) == timedelta(seconds=50_000 * 6)


def test_non_usd_denom_has_no_usd_cost() -> None:
    lease = _lease()
    lease["price"]["denom"] = "uakt"
    detail = _detail(leases=[lease])
    detail["escrow_account"]["state"]["funds"] = [{"denom": "uakt", "amount": "100"}]
    d = normalize_deployment(detail)
    assert d.cost_per_hour_usd is None
    assert d.extras["escrow_funds_usd"] is None


_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6) | st.floats(allow_nan=True),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "deployment",
                    "leases",
                    "escrow_account",
                    "id",
                    "state",
                    "dseq",
                    "price",
                    "amount",
                    "status",
                    "services",
                    "uris",
                    "funds",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=15,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["deployment", "leases", "escrow_account"]), _junk))
def test_normalize_never_crashes(item: dict[str, Any]) -> None:
    d = normalize_deployment(item)
    assert isinstance(d.status, DeploymentStatus)
    assert escrow_runway(d) is None or escrow_runway(d) >= timedelta(0)


# -- bids -------------------------------------------------------------------------------------


def _bid(gpu_key: str | None = "vendor/nvidia/model/h100/ram/80Gi/interface/sxm") -> dict[str, Any]:
    return {
        "bid": {
            "id": {
                "owner": OWNER,
                "dseq": "1793534400000",
                "gseq": 1,
                "oseq": 1,
                "provider": PROVIDER,
                "bseq": 3,
            },
            "state": "open",
            "price": {"denom": "uact", "amount": "3083.333333333333333333"},
            "created_at": "24000002",
            "resources_offer": [
                {
                    "count": 2,
                    "resources": {
                        "cpu": {"units": {"val": "8000"}, "attributes": []},
                        "gpu": {
                            "units": {"val": "1"},
                            "attributes": [{"key": gpu_key, "value": "true"}] if gpu_key else [],
                        },
                        "memory": {"quantity": {"val": str(64 * 2**30)}, "attributes": []},
                        "storage": [
                            {"name": "default", "quantity": {"val": "1000"}, "attributes": []}
                        ],
                        "endpoints": [{"kind": "SHARED_HTTP", "sequence_number": 0}],
                    },
                }
            ],
        },
        "escrow_account": {},
    }


def test_normalize_bid() -> None:
    bid = normalize_bid(_bid())
    assert (bid.deployment_id, bid.provider_address) == ("1793534400000", PROVIDER)
    assert (bid.gseq, bid.oseq, bid.bseq, bid.state) == (1, 1, 3, "open")
    assert bid.gpu == "h100"
    assert bid.extras["gpu_ram"] == "80Gi"
    assert bid.extras["gpu_interface"] == "sxm"
    assert bid.extras["gpu_units"] == 2
    assert bid.extras["cpu_millis"] == 16000
    assert bid.price_per_hour_usd == usd_per_hour("3083.333333333333333333")
    assert round(bid.price_per_hour_usd, 6) == Decimal("1.850000")


def test_bid_without_gpu_and_era_a_id() -> None:
    item = _bid(gpu_key=None)
    item["bid"]["bid_id"] = item["bid"].pop("id")
    del item["bid"]["bid_id"]["bseq"]
    item["isCertificateRequired"] = True
    bid = normalize_bid(item)
    assert bid.gpu is None
    assert bid.bseq is None
    assert bid.provider_address == PROVIDER
    assert bid.extras["certificate_required"] is True


# -- runway -----------------------------------------------------------------------------------


def test_escrow_runway_whole_blocks() -> None:
    d = normalize_deployment(_detail(leases=[_lease()], funds="1500.5"))
    assert escrow_runway(d) == timedelta(seconds=12)  # 2 whole blocks of 750
    assert escrow_runway(normalize_deployment(_detail())) is None  # nothing drawn
    closed = normalize_deployment(_detail(state="closed", leases=[_lease()]))
    assert escrow_runway(closed) is None


# -- actions ----------------------------------------------------------------------------------


@pytest.fixture
async def provider() -> AsyncIterator[AkashProvider]:
    client = AkashProvider(KEY, base_url="http://127.0.0.1:9")
    yield client
    await client.aclose()


def test_capabilities_exclude_start_stop_scale() -> None:
    caps = AkashProvider.capabilities
    assert {
        Capability.CREATE,
        Capability.CLOSE,
        Capability.DEPOSIT,
        Capability.BIDS,
        Capability.LEASE,
        Capability.BALANCE,
        Capability.REVISE,
    } == caps
    assert not caps & {Capability.START, Capability.STOP, Capability.SCALE}


async def test_available_actions_follow_the_state_machine(provider: AkashProvider) -> None:
    pending = normalize_deployment(_detail())
    running = normalize_deployment(_detail(leases=[_lease(status=READY)]))
    closed = normalize_deployment(_detail(state="closed"))
    broke = normalize_deployment(
        _detail(state="closed", leases=[_lease(state="insufficient_funds")])
    )
    base = {Capability.CLOSE, Capability.DEPOSIT, Capability.REVISE}
    assert provider.available_actions(pending) == base | {Capability.BIDS, Capability.LEASE}
    assert provider.available_actions(running) == base
    assert provider.available_actions(closed) == frozenset()
    assert provider.available_actions(broke) == frozenset()


# -- error mapping ----------------------------------------------------------------------------


def _envelope(
    status: int, error: str, message: str, code: str, type_: str, *, data: Any = None
) -> httpx.Response:
    body: dict[str, Any] = {"error": error, "message": message, "code": code, "type": type_}
    if data is not None:
        body["data"] = data
    return httpx.Response(status, json=body)


ERROR_CASES: list[tuple[str, httpx.Response, type[ProviderError], str]] = [
    (
        "no key",
        _envelope(401, "UnauthorizedError", "Unauthorized", "unauthorized", "client_error"),
        AuthenticationError,
        "Unauthorized",
    ),
    (
        "bad key",
        _envelope(401, "UnauthorizedError", "Invalid API key", "unauthorized", "client_error"),
        AuthenticationError,
        "Invalid API key",
    ),
    (
        "forbidden",
        _envelope(
            403, "ForbiddenError", "UserWallet is not initialized", "forbidden", "client_error"
        ),
        AuthenticationError,
        "UserWallet is not initialized",
    ),
    (
        "not found",
        _envelope(404, "NotFoundError", "Deployment not found", "not_found", "client_error"),
        NotFoundError,
        "Deployment not found",
    ),
    (
        "wallet not found",
        _envelope(404, "NotFoundError", "UserWallet Not Found", "not_found", "client_error"),
        NotFoundError,
        "no wallet",
    ),
    (
        "provider not found",
        httpx.Response(404, text="Provider not found."),
        NotFoundError,
        "Provider not found.",
    ),
    (
        "402",
        _envelope(
            402,
            "PaymentRequiredError",
            "Not enough balance to cover the deployment "
            "deposit. Add credits or turn on auto recharge to continue.",
            "unknown_error",
            "client_error",
        ),
        InsufficientFundsError,
        "Not enough",
    ),
    (
        "chain insufficient funds",
        _envelope(400, "BadRequestError", "Insufficient funds", "bad_request", "client_error"),
        InsufficientFundsError,
        "Insufficient funds",
    ),
    (
        "wallet provisioning",
        _envelope(
            409, "ConflictError", "Wallet is being set up", "wallet_provisioning", "client_error"
        ),
        UnavailableError,
        "retry",
    ),
    (
        "deployment closed",
        _envelope(400, "BadRequestError", "Deployment closed", "bad_request", "client_error"),
        WrongStateError,
        "Deployment closed",
    ),
    (
        "bid not open",
        _envelope(
            400,
            "BadRequestError",
            "Failed to create lease: Cannot create "
            "lease: The selected bid is no longer open. Please refresh and "
            "select an available bid.",
            "bad_request",
            "client_error",
        ),
        WrongStateError,
        "no longer open",
    ),
    (
        "order not open",
        _envelope(
            400,
            "BadRequestError",
            "Cannot create lease: The associated order has already been matched or closed. ...",
            "bad_request",
            "client_error",
        ),
        WrongStateError,
        "matched or closed",
    ),
    (
        "deposit too low",
        _envelope(
            400,
            "BadRequestError",
            "Failed to create deployment: Deposit too low",
            "bad_request",
            "client_error",
        ),
        ValidationError,
        "Deposit too low",
    ),
    (
        "trial expired",
        _envelope(400, "BadRequestError", "Console trial expired", "bad_request", "client_error"),
        InsufficientFundsError,
        "trial expired",
    ),
    (
        "content type",
        httpx.Response(400, json={"error": "Content-Type header is required"}),
        ValidationError,
        "Content-Type header is required",
    ),
    (
        "certificates removed",
        httpx.Response(
            400,
            json={
                "error": "This endpoint has been removed. "
                "mTLS certificates are no longer required as identity "
                "is now verified via API key."
            },
        ),
        NotSupportedError,
        "no longer required",
    ),
    (
        "500",
        _envelope(
            500,
            "InternalServerError",
            "Internal server error",
            "internal_server_error",
            "server_error",
        ),
        UnavailableError,
        "HTTP 500",
    ),
    (
        "503 provider",
        _envelope(
            503,
            "ServiceUnavailableError",
            "Provider service is temporarily unavailable",
            "service_unavailable",
            "server_error",
        ),
        UnavailableError,
        "temporarily unavailable",
    ),
    (
        "502 db",
        _envelope(
            502,
            "BadGatewayError",
            "Database connection timeout",
            "database_timeout",
            "service_unavailable",
        ),
        UnavailableError,
        "Database",
    ),
    ("html 502", httpx.Response(502, text="<html>Bad gateway</html>"), UnavailableError, "502"),
    (
        "429",
        httpx.Response(429, headers={"Retry-After": "7"}, text="slow down"),
        RateLimitedError,
        "rate limiting",
    ),
]


@pytest.mark.parametrize(
    ("response", "kind", "needle"),
    [(r, k, n) for _, r, k, n in ERROR_CASES],
    ids=[c[0] for c in ERROR_CASES],
)
async def test_map_error(
    provider: AkashProvider, response: httpx.Response, kind: type[ProviderError], needle: str
) -> None:
    error = provider.map_error(response)
    assert type(error) is kind
    assert needle in error.message
    assert "\n" not in error.message
    assert error.status_code == response.status_code


async def test_map_error_retry_after(provider: AkashProvider) -> None:
    error = provider.map_error(httpx.Response(429, headers={"Retry-After": "7"}))
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 7


async def test_zod_issues_become_field_errors(provider: AkashProvider) -> None:
    issues = [
        {
            "code": "invalid_type",
            "expected": "bigint",
            "received": "string",
            "path": ["data", "dseq"],
            "message": "Expected bigint, received string",
        },
        {
            "code": "invalid_type",
            "expected": "number",
            "received": "undefined",
            "path": ["data", "deposit"],
            "message": "Required",
        },
        {"code": "custom", "path": ["leases", 0, "provider"], "message": "Invalid akash address"},
    ]
    error = provider.map_error(
        _envelope(
            400,
            "BadRequestError",
            "Validation error",
            "validation_error",
            "validation_error",
            data=issues,
        )
    )
    assert isinstance(error, ValidationError)
    assert error.field_errors == {
        "dseq": "Expected bigint, received string",
        "deposit": "Required",
        "leases.0.provider": "Invalid akash address",
    }


async def test_invalid_sdl_becomes_sdl_field_error(provider: AkashProvider) -> None:
    error = provider.map_error(
        _envelope(
            400,
            "BadRequestError",
            "Invalid SDL: /services/web/image: must not be empty",
            "bad_request",
            "client_error",
        )
    )
    assert isinstance(error, ValidationError)
    assert error.field_errors == {"sdl": "/services/web/image: must not be empty"}


async def test_map_error_never_crashes_on_free_text(provider: AkashProvider) -> None:
    @settings(max_examples=150, deadline=None)
    @given(status=st.integers(400, 599), text=st.text(max_size=200))
    def check(status: int, text: str) -> None:
        for response in (
            httpx.Response(status, text=text),
            httpx.Response(status, json={"message": text, "code": text}),
        ):
            error = provider.map_error(response)
            assert isinstance(error, ProviderError)
            assert "\n" not in error.message

    check()


# -- specs and secrets ------------------------------------------------------------------------


def test_create_spec_validation() -> None:
    assert AkashCreateSpec(sdl="x", deposit_usd=Decimal("0.5")).deposit_usd == Decimal("0.5")
    # trailing zeros are not extra precision
    assert AkashCreateSpec(sdl="x", deposit_usd=Decimal("5.000000000")).deposit_usd == 5
    for bad in (Decimal(0), Decimal(-1), Decimal("0.0000001")):
        with pytest.raises(PydanticValidationError):
            AkashCreateSpec(sdl="x", deposit_usd=bad)
    with pytest.raises(PydanticValidationError):
        AkashCreateSpec(sdl="", deposit_usd=Decimal(1))


def test_certificate_keeps_the_key_secret() -> None:
    cert = AkashCertificate(
        cert_pem="-----BEGIN CERTIFICATE-----",
        pubkey_pem="-----BEGIN EC PUBLIC KEY-----",
        key_pem=SecretStr("-----BEGIN PRIVATE KEY-----\nsecret"),
    )
    assert "secret" not in repr(cert) and "secret" not in str(cert)
    assert cert.lease_payload() == {
        "certPem": "-----BEGIN CERTIFICATE-----",
        "keyPem": "-----BEGIN PRIVATE KEY-----\nsecret",
    }


async def test_provider_repr_and_headers_keep_the_key_secret(provider: AkashProvider) -> None:
    assert KEY not in repr(provider)
    headers = AkashProvider.auth_headers(SecretStr(KEY))
    assert set(headers) == {"x-api-key"}
    assert headers["x-api-key"].get_secret_value() == KEY
    assert KEY not in repr(headers)
