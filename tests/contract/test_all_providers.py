"""What holds for every provider, checked against each emulator over real HTTP on 127.0.0.1:
the one protocol, retries that are safe, creates that are never re-sent, keys that never leak."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from bot.providers import build_provider
from bot.providers.base import BaseProvider, Provider
from bot.providers.errors import (
    AuthenticationError,
    NotFoundError,
    NotSupportedError,
    OutcomeUnknownError,
)
from bot.providers.http import RetryPolicy
from bot.providers.models import PROVIDER_NAMES, Capability
from sandbox.clock import ManualClock
from sandbox.common import Fault, SandboxAPI
from sandbox.server import SandboxCluster

LIST_PATH = {
    "nosana": "/api/deployments",
    "akash": "/v1/deployments",
    "neuranet": "/api/deployments",
}
CREATE = {
    "nosana": ("POST", "/api/deployments/create"),
    "akash": ("POST", "/v1/deployments"),
    "neuranet": ("POST", "/api/deployments"),
}
#: Protocol method for each capability, called with harmless arguments.
CALLS = {
    Capability.START: lambda p: p.start("x" * 44),
    Capability.STOP: lambda p: p.stop("x" * 44),
    Capability.ARCHIVE: lambda p: p.archive("x" * 44),
    Capability.DELETE: lambda p: p.delete("x" * 44),
    Capability.CLOSE: lambda p: p.close("1"),
    Capability.SCALE: lambda p: p.scale("x" * 44, 2),
    Capability.TIMEOUT: lambda p: p.set_timeout("x" * 44, 120),
    Capability.SCHEDULE: lambda p: p.set_schedule("x" * 44, "0 * * * *"),
    Capability.ROLLBACK: lambda p: p.rollback("x" * 44, 1),
    Capability.RENAME: lambda p: p.rename("x" * 44, "n"),
    Capability.LOGS: lambda p: p.logs("x" * 44),
    Capability.EVENTS: lambda p: p.events("x" * 44),
    Capability.JOBS: lambda p: p.jobs("x" * 44),
    Capability.BIDS: lambda p: p.bids("1"),
    Capability.DEPOSIT: lambda p: p.deposit("1", Decimal(1)),
    Capability.BALANCE: lambda p: p.balance(),
    Capability.MARKETS: lambda p: p.markets(),
    Capability.NODES: lambda p: p.nodes(),
}


def create_spec(provider: str, api: SandboxAPI) -> BaseModel:
    if provider == "nosana":
        from bot.providers.nosana import NosanaCreateSpec

        market = next(iter(api.markets))  # type: ignore[attr-defined]
        return NosanaCreateSpec(
            name="retry-probe",
            market=market,
            timeout=60,
            job_definition={
                "version": "0.1",
                "type": "container",
                "ops": [{"type": "container/run", "id": "hello", "args": {"image": "ubuntu"}}],
            },
        )
    if provider == "akash":
        from bot.providers.akash import AkashCreateSpec
        from bot.providers.akash_sdl import QuickForm, build_sdl

        sdl = build_sdl(QuickForm(image="nvidia/cuda:12.4.1-base-ubuntu22.04", gpu_model="rtx4090"))
        return AkashCreateSpec(sdl=sdl, deposit_usd=Decimal(5))
    from bot.providers.neuranet import NeuraNetCreateSpec
    from sandbox.neuranet import NODE_RTX4090

    return NeuraNetCreateSpec(node_id=NODE_RTX4090, template_id="ollama")


#: A change each provider's list shows (Akash: the escrow drained, its lease still listed).
CHANGE = {
    "nosana": lambda api, dep_id: api.force_status(dep_id, "ERROR"),
    "akash": lambda api, dep_id: api.drain(dep_id, 60.0),
    "neuranet": lambda api, dep_id: api.force_status(dep_id, "stopping"),
}


def first_page(page: Any) -> list[Any]:
    return [item for item in page.items if isinstance(item, dict)]


@pytest.fixture
async def cluster() -> AsyncIterator[SandboxCluster]:
    async with SandboxCluster(ManualClock()) as running:
        yield running


def client(
    cluster: SandboxCluster,
    provider: str,
    *,
    key: str | None = None,
    retry: RetryPolicy | None = None,
    timeout: httpx.Timeout | None = None,
) -> BaseProvider:
    return build_provider(
        provider,
        key or cluster.api(provider).demo_api_key,
        base_url=cluster.base_url(provider),
        retry=retry or RetryPolicy(base_delay=0.001, max_delay=0.01),
        timeout=timeout,
    )


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
async def test_implements_the_protocol_and_refuses_what_it_cannot_do(
    cluster: SandboxCluster, provider: str
) -> None:
    async with client(cluster, provider) as p:
        assert isinstance(p, Provider)
        assert p.name == provider
        await p.verify()
        for capability, call in CALLS.items():
            if capability not in p.capabilities:
                with pytest.raises(NotSupportedError, match=p.display_name):
                    await call(p)


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
async def test_a_429_with_retry_after_then_200_succeeds_for_a_get(
    cluster: SandboxCluster, provider: str
) -> None:
    api = cluster.api(provider)
    api.inject(
        Fault(method="GET", path=LIST_PATH[provider], status=429, headers={"Retry-After": "0"})
    )
    async with client(cluster, provider) as p:
        page = await p.list_page(limit=10)
    assert page.items
    assert api.count("GET", LIST_PATH[provider]) == 2


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
async def test_a_create_that_times_out_is_not_resent(
    cluster: SandboxCluster, provider: str
) -> None:
    api = cluster.api(provider)
    method, path = CREATE[provider]
    async with client(cluster, provider) as p:
        before = len(await p.list_deployments())
    # The provider takes 1.5 s to answer the create; the client gives up after 0.5 s.
    api.inject(Fault(method=method, path=path, status=None, delay=1.5))
    slow = client(cluster, provider, timeout=httpx.Timeout(5.0, read=0.5))
    async with slow as p:
        with pytest.raises(OutcomeUnknownError, match="may"):
            await p.create(create_spec(provider, api))
    await asyncio.sleep(1.5)  # the stalled request completes on the provider's side
    assert api.count(method, path) == 1
    async with client(cluster, provider) as p:
        assert len(await p.list_deployments()) == before + 1


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
async def test_api_key_never_reaches_messages_reprs_or_logs(
    cluster: SandboxCluster, provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good = cluster.api(provider).demo_api_key
    bad = good[:-6] + "ZZZZZZ"
    texts: list[str] = []
    async with client(cluster, provider, key=bad) as p:
        texts.append(repr(p))
        with pytest.raises(AuthenticationError) as auth:
            await p.list_page(limit=10)
        texts += [str(auth.value), repr(auth.value), auth.value.provider_text or ""]
    async with client(cluster, provider) as p:
        missing = "1" if provider == "akash" else ("x" * 44 if provider == "nosana" else "dep_x")
        with pytest.raises(NotFoundError) as nf:
            await p.get(missing)
        texts += [str(nf.value), repr(nf.value), repr(p), repr(p.http)]
    texts.append(caplog.text)
    for text in texts:
        assert good not in text
        assert bad not in text


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
async def test_list_deployments_walks_every_page(cluster: SandboxCluster, provider: str) -> None:
    api = cluster.api(provider)
    key = api.demo_api_key
    async with client(cluster, provider) as p:
        before = len(await p.list_deployments())
        api.seed_bulk(key, 230)  # type: ignore[attr-defined]
        calls = api.count("GET", LIST_PATH[provider])
        everything = await p.list_deployments()
    assert len(everything) == before + 230
    assert len({d.id for d in everything}) == len(everything)
    pages = api.count("GET", LIST_PATH[provider]) - calls
    assert pages == -(-len(everything) // 100)  # ceil: 100 per page, no extra calls


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
async def test_raw_list_pages_normalize_to_the_listed_deployments(
    cluster: SandboxCluster, provider: str
) -> None:
    """The watcher's raw walk sees what ``list_deployments`` sees; fingerprints move with the
    status and stay put when nothing changed."""
    api = cluster.api(provider)
    api.seed_bulk(api.demo_api_key, 150)  # type: ignore[attr-defined]
    async with client(cluster, provider) as p:
        expected = {d.id: d for d in await p.list_deployments()}
        raw: list[object] = []
        cursor: str | None = None
        while True:
            page = await p.list_raw_page(cursor=cursor, limit=100)
            raw.extend(page.items)
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        prints = dict(f for f in map(p.watch_fields, raw) if f is not None)
        normalized = {d.id: d for d in await p.normalize_listed(raw)}
        assert set(prints) == set(normalized) == set(expected)
        for dep_id, deployment in expected.items():
            assert normalized[dep_id].status == deployment.status
            assert normalized[dep_id].name == deployment.name
        first = await p.list_raw_page(limit=100)
        again = dict(f for f in map(p.watch_fields, first.items) if f is not None)
        assert again and all(prints[i] == fp for i, fp in again.items())  # nothing changed
        target = next(iter(again))
        CHANGE[provider](api, target)
        moved = dict(f for f in map(p.watch_fields, first_page(await p.list_raw_page(limit=100))))
        assert moved[target] != prints[target]
        assert all(fp == prints[i] for i, fp in moved.items() if i != target)
        assert p.watch_fields({"no": "id"}) is None
