"""gather(): at most one provider read, bounded by a timeout; an outage never blocks preflight."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from bot.core.operations import Operation, OpKind
from bot.core.preflight import Cleared, Refused, preflight
from bot.core.preflight_create import preflight_create
from bot.providers import build_provider
from bot.providers.base import BaseProvider
from bot.providers.http import RetryPolicy
from bot.providers.models import Deployment
from bot.services.preflight import gather, gather_create
from sandbox.clock import ManualClock
from sandbox.common import Fault
from sandbox.neuranet import NODE_RTX4090, NeuraNetSandbox
from sandbox.nosana import NosanaSandbox
from sandbox.server import SandboxCluster

BALANCE = "/api/credits/balance"


@pytest.fixture
async def cluster() -> AsyncIterator[SandboxCluster]:
    async with SandboxCluster(ManualClock()) as running:
        yield running


@pytest.fixture
async def nosana(cluster: SandboxCluster) -> AsyncIterator[tuple[BaseProvider, NosanaSandbox]]:
    api = cluster.api("nosana")
    assert isinstance(api, NosanaSandbox)
    p = build_provider(
        "nosana",
        api.demo_api_key,
        base_url=cluster.base_url("nosana"),
        retry=RetryPolicy(base_delay=0.001, max_delay=0.01),
    )
    async with p:
        yield p, api


async def a_deployment(p: BaseProvider, raw_status: str) -> Deployment:
    everything = await p.list_deployments()
    return next(d for d in everything if d.raw_status == raw_status)


async def test_a_stop_reads_nothing_from_the_provider(
    nosana: tuple[BaseProvider, NosanaSandbox],
) -> None:
    p, api = nosana
    running = await a_deployment(p, "RUNNING")
    before = api.count()
    facts = await gather(p, Operation(kind=OpKind.STOP, target=running.id), running)
    assert api.count() == before
    assert facts.account is None and facts.notes == ()
    assert isinstance(preflight(facts), Cleared)


async def test_a_start_reads_the_balance_once(
    nosana: tuple[BaseProvider, NosanaSandbox],
) -> None:
    p, api = nosana
    stopped = await a_deployment(p, "STOPPED")
    before = api.count()
    facts = await gather(p, Operation(kind=OpKind.START, target=stopped.id), stopped)
    assert api.count() == before + 1
    assert api.count("GET", BALANCE) == 1
    assert facts.account is not None and facts.account.label == "Nosana credits"
    assert facts.account.balance_usd is not None
    assert abs(facts.account.balance_usd - api.credits(api.demo_api_key)) < Decimal("0.000001")


async def test_a_slow_balance_read_is_given_up_and_preflight_goes_on(
    nosana: tuple[BaseProvider, NosanaSandbox],
) -> None:
    p, api = nosana
    stopped = await a_deployment(p, "STOPPED")
    api.inject(Fault(method="GET", path=BALANCE, status=None, delay=2.0))
    facts = await gather(p, Operation(kind=OpKind.START, target=stopped.id), stopped, timeout=0.2)
    assert facts.account is None
    assert facts.notes == ("The balance was not checked: Nosana did not answer within 0.2 s.",)
    outcome = preflight(facts)
    assert isinstance(outcome, Cleared)
    assert outcome.warnings == facts.notes


async def test_a_failing_balance_read_is_a_note_without_the_key(
    nosana: tuple[BaseProvider, NosanaSandbox],
) -> None:
    p, api = nosana
    running = await a_deployment(p, "RUNNING")
    api.inject(Fault(method="GET", path=BALANCE, status=503, times=20))
    scale = Operation(kind=OpKind.SCALE, replicas=(running.replicas or 0) + 1, target=running.id)
    facts = await gather(p, scale, running)
    assert facts.account is None
    assert len(facts.notes) == 1
    assert facts.notes[0].startswith("The balance was not checked: Nosana")
    assert api.demo_api_key not in facts.notes[0]


async def test_no_credits_refuses_a_start_before_anyone_is_asked(
    nosana: tuple[BaseProvider, NosanaSandbox],
) -> None:
    p, api = nosana
    stopped = await a_deployment(p, "STOPPED")
    api.set_credits(api.demo_api_key, 0)
    outcome = preflight(await gather(p, Operation(kind=OpKind.START, target=stopped.id), stopped))
    assert outcome == Refused(
        f"No Nosana credits left ($0.00): start {stopped.id} would not run on Nosana. "
        "Add funds first."
    )


async def test_neuranet_reads_nothing_and_says_it_cannot_check_funds(
    cluster: SandboxCluster,
) -> None:
    api = cluster.api("neuranet")
    assert isinstance(api, NeuraNetSandbox)
    dep = api.create_deployment(api.demo_api_key, NODE_RTX4090, template_id="ollama")
    api.force_status(dep.id, "stopped")
    p = build_provider("neuranet", api.demo_api_key, base_url=cluster.base_url("neuranet"))
    async with p:
        deployment = await p.get(dep.id)
        before = api.count()
        facts = await gather(p, Operation(kind=OpKind.START, target=dep.id), deployment)
        assert api.count() == before
        spec = {"node_id": NODE_RTX4090, "template_id": "ollama"}
        create = await gather_create(p, spec, None)
        assert api.count() == before
    assert facts.notes == (
        "NeuraNET does not report a balance: it checks funds itself when the deployment starts.",
    )
    outcome = preflight_create(create)
    assert isinstance(outcome, Cleared)
    assert outcome.warnings == (
        "NeuraNET does not report a balance: it checks funds itself when the deployment starts.",
        "NeuraNET publishes no template list: the template id is checked when NeuraNET "
        "receives the create.",
    )


async def test_an_akash_create_reads_the_balance_and_refuses_a_deposit_above_it(
    cluster: SandboxCluster,
) -> None:
    from bot.providers.akash_sdl import QuickForm, build_sdl

    api = cluster.api("akash")
    p = build_provider("akash", api.demo_api_key, base_url=cluster.base_url("akash"))
    spec = {"sdl": build_sdl(QuickForm(image="nginx:1.27", port=80)), "deposit_usd": "9999"}
    async with p:
        before = api.count()
        facts = await gather_create(p, spec, None)
        assert api.count("GET", "/v1/balances") == 1
        assert api.count() == before + 1
    assert facts.account is not None and facts.account.balance_usd is not None
    outcome = preflight_create(facts)
    assert outcome == Refused(
        f"The deposit ($9,999.00) is more than the Akash balance "
        f"(${facts.account.balance_usd.quantize(Decimal('0.01')):,}): add funds to the account "
        "or deposit less."
    )
