"""A non-idempotent call the provider carried out but answered with garbage (malformed JSON,
an empty body, no envelope) is "may or may not have happened — check …", never "try again",
and is never re-sent. Each emulator processes the request (the effect is asserted in its
state) and then spoils the answer (``Fault(garble=…)``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.providers import akash_sdl
from bot.providers.akash import AkashCreateSpec, AkashProvider
from bot.providers.errors import OutcomeUnknownError, UnavailableError
from bot.providers.http import RetryPolicy
from bot.providers.neuranet import NeuraNetCreateSpec, NeuraNetProvider
from bot.providers.nosana import NosanaProvider
from sandbox.akash import AkashSandbox
from sandbox.clock import ManualClock
from sandbox.common import GARBLE_MODES, Fault, RunningSandbox
from sandbox.neuranet import NODE_RTX4090, NeuraNetSandbox
from sandbox.nosana import NosanaSandbox

MODES = pytest.mark.parametrize("mode", GARBLE_MODES)
M4090 = "97G9NnvBDQ2WpKu6fasoMsAKmfj63C9rhysJnkeWodAf"


async def outcome_unknown(call: Awaitable[Any], check: str) -> OutcomeUnknownError:
    """The call raises OutcomeUnknownError whose text says what to check (and not to retry)."""
    with pytest.raises(OutcomeUnknownError) as caught:
        await call
    error = caught.value
    assert "cannot be read" in error.message
    assert "may or may not have happened — check" in error.message
    assert check in error.message
    assert error.advice in error.message  # the person reads the check once, not a generic one
    assert "try again" not in error.message.lower()
    return error


def garble(api: Any, method: str, path: str, mode: str) -> Fault:
    return api.inject(Fault(method=method, path=path, garble=mode))


# -- Nosana ------------------------------------------------------------------------------------


def nosana_body(name: str = "web") -> dict[str, Any]:
    return {
        "name": name,
        "market": M4090,
        "timeout": 60,
        "replicas": 1,
        "strategy": "SIMPLE",
        "job_definition": {
            "version": "0.1",
            "type": "container",
            "ops": [{"type": "container/run", "id": "web", "args": {"image": "nginx:1.27"}}],
        },
    }


@pytest.fixture
async def nosana(
    clock: ManualClock, fast_retry: RetryPolicy
) -> AsyncIterator[tuple[NosanaSandbox, NosanaProvider]]:
    api = NosanaSandbox(clock)
    key = "nos_sk_garbledAnswersKey0123456789abcdef"
    api.add_api_key(key, credits_usd=50)
    async with RunningSandbox(api) as running:
        client = NosanaProvider(key, base_url=running.base_url, retry=fast_retry)
        yield api, client
        await client.aclose()


@MODES
async def test_nosana_create(nosana: tuple[NosanaSandbox, NosanaProvider], mode: str) -> None:
    api, client = nosana
    garble(api, "POST", "/api/deployments/create", mode)
    await outcome_unknown(client.create(nosana_body("garbled-web")), "`/deploy list`")
    created = [d for d in api.deployments.values() if d.name == "garbled-web"]
    assert len(created) == 1  # it was created
    assert api.count("POST", "/api/deployments/create") == 1  # and not sent twice


async def _nosana_in(client: NosanaProvider, clock: ManualClock, state: str) -> str:
    dep_id = (await client.create(nosana_body())).deployment.id
    if state in ("RUNNING", "STOPPED"):
        await client.start(dep_id)
        clock.advance(60)
    if state == "STOPPED":
        await client.stop(dep_id)
        clock.advance(10)
    assert (await client.get(dep_id)).raw_status == state
    return dep_id


@MODES
@pytest.mark.parametrize(
    ("action", "before", "after"),
    [
        ("start", "DRAFT", "STARTING"),
        ("stop", "RUNNING", "STOPPING"),
        ("archive", "STOPPED", "ARCHIVED"),
    ],
)
async def test_nosana_actions(
    nosana: tuple[NosanaSandbox, NosanaProvider],
    clock: ManualClock,
    *,
    mode: str,
    action: str,
    before: str,
    after: str,
) -> None:
    api, client = nosana
    dep_id = await _nosana_in(client, clock, before)
    garble(api, "POST", f"/api/deployments/{dep_id}/{action}", mode)
    error = await outcome_unknown(getattr(client, action)(dep_id), f"`/deploy show {dep_id}`")
    assert error.provider == "nosana"
    assert api.deployments[dep_id].status == after
    assert api.count("POST", f"/api/deployments/{dep_id}/{action}") == 1


@MODES
async def test_nosana_delete(
    nosana: tuple[NosanaSandbox, NosanaProvider], clock: ManualClock, mode: str
) -> None:
    api, client = nosana
    dep_id = await _nosana_in(client, clock, "STOPPED")
    garble(api, "DELETE", f"/api/deployments/{dep_id}", mode)
    await outcome_unknown(client.delete(dep_id), "`/deploy list`")
    assert dep_id not in api.deployments
    assert api.count("DELETE", f"/api/deployments/{dep_id}") == 1


@MODES
async def test_nosana_revise(nosana: tuple[NosanaSandbox, NosanaProvider], mode: str) -> None:
    api, client = nosana
    dep_id = (await client.create(nosana_body())).deployment.id
    garble(api, "POST", f"/api/deployments/{dep_id}/create-revision", mode)
    revised = nosana_body()["job_definition"]
    revised["ops"][0]["args"]["image"] = "nginx:1.28"
    await outcome_unknown(client.revise(dep_id, revised), f"`/deploy show {dep_id}`")
    assert api.deployments[dep_id].active_revision == 2
    assert api.count("POST", f"/api/deployments/{dep_id}/create-revision") == 1


async def test_nosana_garbled_read_is_retryable_unavailable(
    nosana: tuple[NosanaSandbox, NosanaProvider],
) -> None:
    api, client = nosana
    garble(api, "GET", "/api/deployments", "malformed")
    with pytest.raises(UnavailableError) as caught:
        await client.list_page()
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert "cannot be read" in caught.value.message


# -- Akash -------------------------------------------------------------------------------------

GPU_FORM = akash_sdl.QuickForm(image="nginx:1.27", gpu_model="rtx4090", max_price_usd_per_hour=2)


def akash_spec() -> AkashCreateSpec:
    return AkashCreateSpec(sdl=akash_sdl.build_sdl(GPU_FORM), deposit_usd=Decimal(5))


@pytest.fixture(params=[False, True], ids=["era-c", "certificate-era"])
async def akash(
    request: pytest.FixtureRequest, clock: ManualClock, fast_retry: RetryPolicy
) -> AsyncIterator[tuple[AkashSandbox, AkashProvider]]:
    api = AkashSandbox(clock, certificates_required=request.param)
    async with RunningSandbox(api) as running:
        client = AkashProvider(api.demo_api_key, base_url=running.base_url, retry=fast_retry)
        yield api, client
        await client.aclose()


@MODES
async def test_akash_create(akash: tuple[AkashSandbox, AkashProvider], mode: str) -> None:
    api, client = akash
    before = len(api.deployments_of(api.demo_api_key))
    garble(api, "POST", "/v1/deployments", mode)
    await outcome_unknown(client.create(akash_spec()), "`/deploy list`")
    assert len(api.deployments_of(api.demo_api_key)) == before + 1
    assert api.count("POST", "/v1/deployments") == 1


@MODES
async def test_akash_deposit(akash: tuple[AkashSandbox, AkashProvider], mode: str) -> None:
    api, client = akash
    dseq = (await client.create(akash_spec())).deployment.id
    funds = api.funds_usd(dseq)
    garble(api, "POST", "/v1/deposit-deployment", mode)
    await outcome_unknown(client.deposit(dseq, Decimal(2)), f"escrow balance of deployment {dseq}")
    assert api.funds_usd(dseq) == funds + 2  # deposited once: a retry would deposit twice
    assert api.count("POST", "/v1/deposit-deployment") == 1


@MODES
async def test_akash_certificate(clock: ManualClock, fast_retry: RetryPolicy, mode: str) -> None:
    api = AkashSandbox(clock, certificates_required=True)
    async with RunningSandbox(api) as running:
        client = AkashProvider(api.demo_api_key, base_url=running.base_url, retry=fast_retry)
        garble(api, "POST", "/v1/certificates", mode)
        await outcome_unknown(client.ensure_certificate(), "certificates in Akash Console")
        await client.aclose()
    assert len(api.certificates_of(api.demo_api_key)) == 1  # issued
    assert client.certificate is None
    assert api.count("POST", "/v1/certificates") == 1


@MODES
async def test_akash_lease_in_the_certificate_era(
    clock: ManualClock, fast_retry: RetryPolicy, mode: str
) -> None:
    api = AkashSandbox(clock, certificates_required=True)
    async with RunningSandbox(api) as running:
        client = AkashProvider(api.demo_api_key, base_url=running.base_url, retry=fast_retry)
        await client.ensure_certificate()
        dseq = (await client.create(akash_spec())).deployment.id
        clock.advance(11)
        bids = await client.bids(dseq)
        garble(api, "POST", "/v1/leases", mode)
        await outcome_unknown(client.accept_bids(dseq, bids[:1]), f"`/deploy show {dseq}`")
        await client.aclose()
    assert [lease.state for lease in api.deployment(dseq).leases] == ["active"]
    assert api.count("POST", "/v1/leases") == 1


async def test_akash_idempotent_lease_garbled_is_unavailable(
    clock: ManualClock, fast_retry: RetryPolicy
) -> None:
    """Era C leases are idempotent: a garbled answer there may simply be tried again."""
    api = AkashSandbox(clock)
    async with RunningSandbox(api) as running:
        client = AkashProvider(api.demo_api_key, base_url=running.base_url, retry=fast_retry)
        dseq = (await client.create(akash_spec())).deployment.id
        clock.advance(11)
        bids = await client.bids(dseq)
        garble(api, "POST", "/v1/leases", "no_envelope")
        with pytest.raises(UnavailableError) as caught:
            await client.accept_bids(dseq, bids[:1])
        assert not isinstance(caught.value, OutcomeUnknownError)
        deployment = await client.accept_bids(dseq, bids[:1])  # the repeat is harmless
        await client.aclose()
    assert deployment.extras["leases"][0]["state"] == "active"


# -- NeuraNET ----------------------------------------------------------------------------------


@pytest.fixture
async def neuranet(
    clock: ManualClock, fast_retry: RetryPolicy
) -> AsyncIterator[tuple[NeuraNetSandbox, NeuraNetProvider]]:
    api = NeuraNetSandbox(clock, seed=False)
    async with RunningSandbox(api) as running:
        client = NeuraNetProvider(api.demo_api_key, base_url=running.base_url, retry=fast_retry)
        yield api, client
        await client.aclose()


def ollama() -> NeuraNetCreateSpec:
    return NeuraNetCreateSpec.parse({"node_id": NODE_RTX4090, "template_id": "ollama"})


@MODES
async def test_neuranet_create(
    neuranet: tuple[NeuraNetSandbox, NeuraNetProvider], mode: str
) -> None:
    api, client = neuranet
    garble(api, "POST", "/api/deployments", mode)
    await outcome_unknown(client.create(ollama()), "`/deploy list`")
    assert len(api.deployments) == 1
    assert api.count("POST", "/api/deployments") == 1


async def _neuranet_in(client: NeuraNetProvider, clock: ManualClock, status: str) -> str:
    dep_id = (await client.create(ollama())).deployment.id
    clock.advance(30)
    if status == "stopped":
        await client.stop(dep_id)
        clock.advance(30)
    assert (await client.get(dep_id)).raw_status == status
    return dep_id


Action = Callable[[NeuraNetProvider, str], Awaitable[Any]]


@MODES
@pytest.mark.parametrize(
    ("action", "before", "after"),
    [("start", "stopped", "starting"), ("stop", "running", "stopping")],
)
async def test_neuranet_actions(
    neuranet: tuple[NeuraNetSandbox, NeuraNetProvider],
    clock: ManualClock,
    *,
    mode: str,
    action: str,
    before: str,
    after: str,
) -> None:
    api, client = neuranet
    dep_id = await _neuranet_in(client, clock, before)
    garble(api, "POST", f"/api/deployments/{dep_id}/{action}", mode)
    await outcome_unknown(getattr(client, action)(dep_id), f"`/deploy show {dep_id}`")
    assert api.deployments[dep_id].status == after
    assert api.count("POST", f"/api/deployments/{dep_id}/{action}") == 1


@MODES
async def test_neuranet_delete(
    neuranet: tuple[NeuraNetSandbox, NeuraNetProvider], clock: ManualClock, mode: str
) -> None:
    api, client = neuranet
    dep_id = await _neuranet_in(client, clock, "running")
    garble(api, "DELETE", f"/api/deployments/{dep_id}", mode)
    await outcome_unknown(client.delete(dep_id), "`/deploy list`")
    assert dep_id not in api.deployments
    assert api.count("DELETE", f"/api/deployments/{dep_id}") == 1


# -- the fault itself --------------------------------------------------------------------------


def test_an_unknown_garble_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="garble must be one of malformed, empty, no_envelope"):
        Fault(garble="truncated")


async def test_the_control_endpoint_queues_a_garble_fault(clock: ManualClock) -> None:
    api = NeuraNetSandbox(clock, seed=False)
    async with RunningSandbox(api) as running, httpx.AsyncClient() as raw:
        root = f"http://{running.host}:{running.port}"
        refused = await raw.post(root + "/_sandbox/faults", json={"garble": "truncated"})
        assert refused.status_code == 400
        assert "garble must be one of" in refused.json()["error"]
        queued = await raw.post(
            root + "/_sandbox/faults",
            json={"method": "DELETE", "path": "/api/deployments/.*", "garble": "malformed"},
        )
        assert queued.status_code == 200
    assert [(f.method, f.garble) for f in api.faults] == [("DELETE", "malformed")]


# -- proxy error pages through the clients -----------------------------------------------------

NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
HTML = {"Content-Type": "text/html"}


def clean(text: str) -> None:
    assert "<" not in text and "&lt;" not in text and "\n" not in text and "nginx" not in text
    assert "502 Bad Gateway" in text


async def test_nosana_list_and_start_behind_an_nginx_502(
    nosana: tuple[NosanaSandbox, NosanaProvider],
) -> None:
    api, client = nosana
    api.inject(method="GET", status=502, body=NGINX_502, headers=HTML, times=10)
    with pytest.raises(UnavailableError) as listed:
        await client.list_page()
    clean(listed.value.message)
    dep_id = (await client.create(nosana_body())).deployment.id
    api.inject(method="POST", path=".*/start", status=502, body=NGINX_502, headers=HTML)
    with pytest.raises(OutcomeUnknownError) as started:
        await client.start(dep_id)
    clean(started.value.message)
    assert f"check its status with `/deploy show {dep_id}`" in started.value.advice


async def test_akash_list_and_deposit_behind_an_nginx_502(
    akash: tuple[AkashSandbox, AkashProvider],
) -> None:
    api, client = akash
    dseq = (await client.create(akash_spec())).deployment.id
    api.inject(method="GET", status=502, body=NGINX_502, headers=HTML, times=10)
    with pytest.raises(UnavailableError) as listed:
        await client.list_page()
    clean(listed.value.message)
    api.inject(method="POST", status=502, body=NGINX_502, headers=HTML)
    with pytest.raises(OutcomeUnknownError) as deposited:
        await client.deposit(dseq, Decimal(1))
    clean(deposited.value.message)
    assert f"escrow balance of deployment {dseq}" in deposited.value.advice
