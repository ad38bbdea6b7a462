"""Preflight against the emulators: what it clears, the provider does not refuse for its state.

Hypothesis puts a deployment in a generated state on each provider's sandbox (with a generated
balance), runs ``preflight`` on facts from ``gather``, and when preflight clears the operation,
executes it with the provider client: the sandbox must not answer wrong state, validation or
insufficient funds. Refusing is always safe for this property, so separate examples check that
what can succeed is cleared (and succeeds).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.operations import Chain, Operation, OpKind
from bot.core.preflight import Cleared, Refused, preflight
from bot.providers import build_provider
from bot.providers.akash import AkashCreateSpec
from bot.providers.akash_sdl import QuickForm, build_sdl
from bot.providers.base import BaseProvider
from bot.providers.errors import (
    InsufficientFundsError,
    ProviderError,
    ValidationError,
    WrongStateError,
)
from bot.providers.http import RetryPolicy
from bot.providers.models import Deployment
from bot.providers.nosana import NosanaCreateSpec
from bot.services.preflight import gather
from sandbox.akash import AkashSandbox
from sandbox.clock import ManualClock
from sandbox.neuranet import NODE_RTX4090, NeuraNetSandbox
from sandbox.nosana import NosanaSandbox
from sandbox.server import SandboxCluster

#: What preflight exists to prevent: the provider refusing the operation outright.
DOOMED = (WrongStateError, ValidationError, InsufficientFundsError)
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JOB = {
    "version": "0.1",
    "type": "container",
    "ops": [{"type": "container/run", "id": "hello", "args": {"image": "ubuntu"}}],
}


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[SandboxCluster, ManualClock]]:
    clock = ManualClock()
    async with SandboxCluster(clock) as running:
        yield running, clock


def client(cluster: SandboxCluster, provider: str, key: str) -> BaseProvider:
    return build_provider(
        provider,
        key,
        base_url=cluster.base_url(provider),
        retry=RetryPolicy(base_delay=0.001, max_delay=0.01),
    )


async def execute(p: BaseProvider, op: Operation, did: str) -> None:
    """Run ``op`` as the deployment service does (bot.services.deployments._mutate)."""
    match op.kind:
        case OpKind.START:
            await p.start(did)
        case OpKind.STOP:
            await p.stop(did)
        case OpKind.ARCHIVE:
            await p.archive(did)
        case OpKind.DELETE:
            await p.delete(did)
        case OpKind.CLOSE:
            await p.close(did)
        case OpKind.SCALE:
            await p.scale(did, op.args.replicas or 0)
        case OpKind.TIMEOUT:
            await p.set_timeout(did, op.args.minutes or 0)
        case OpKind.SCHEDULE:
            await p.set_schedule(did, op.args.cron or "")
        case OpKind.RENAME:
            await p.rename(did, op.args.name or "")
        case OpKind.ROLLBACK:
            await p.rollback(did, op.args.revision or 0)
        case OpKind.DEPOSIT:
            await p.deposit(did, op.args.amount_usd or Decimal(0))
        case _:  # pragma: no cover - the strategies draw only the kinds above
            raise AssertionError(op.kind)


async def check(
    p: BaseProvider, op: Operation, deployment: Deployment, *, unpriced: bool = False
) -> Cleared | Refused:
    """Preflight ``op``; when cleared, executing it must not be refused by the provider.

    ``unpriced``: the provider reports no balance, so a funds refusal is acceptable when
    preflight said it had not checked the money.
    """
    op = op.retarget(p.name, deployment.id)
    outcome = preflight(await gather(p, op, deployment))
    if isinstance(outcome, Refused):
        assert outcome.reason.strip() and "\n" not in outcome.reason
        return outcome
    try:
        await execute(p, op, deployment.id)
    except InsufficientFundsError:
        if not (unpriced and any("does not report a balance" in w for w in outcome.warnings)):
            raise
    except DOOMED as exc:
        pytest.fail(
            f"preflight cleared {op.describe()} on {deployment.raw_status} but "
            f"{p.display_name} refused: {exc}"
        )
    return outcome


# -- Nosana -----------------------------------------------------------------------------------

NOSANA_STATES = (
    "DRAFT",
    "STARTING",
    "RUNNING",
    "STOPPING",
    "STOPPED",
    "ERROR",
    "INSUFFICIENT_FUNDS",
    "ARCHIVED",
)
NOSANA_OPS = st.one_of(
    st.sampled_from([OpKind.START, OpKind.STOP, OpKind.ARCHIVE, OpKind.DELETE]).map(
        lambda kind: Operation(kind=kind)
    ),
    st.integers(0, 4).map(lambda n: Operation(kind=OpKind.SCALE, replicas=n)),
    st.sampled_from([1, 30, 59, 60, 61, 240]).map(
        lambda m: Operation(kind=OpKind.TIMEOUT, minutes=m)
    ),
    st.sampled_from(["0 * * * *", "*/5 * * * *", "every hour", "0 0 * *", "61 * * * *"]).map(
        lambda cron: Operation(kind=OpKind.SCHEDULE, cron=cron)
    ),
    st.sampled_from(["renamed", " ", "probe"]).map(
        lambda name: Operation(kind=OpKind.RENAME, name=name)
    ),
    st.just(Operation(kind=OpKind.ROLLBACK, revision=1)),
)


async def nosana_deployment(
    cluster: SandboxCluster, state: str, strategy: str, credits: int
) -> tuple[BaseProvider, Deployment]:
    api = cluster.api("nosana")
    assert isinstance(api, NosanaSandbox)
    account = api.add_api_key(credits_usd=100)
    p = client(cluster, "nosana", account.api_key)
    created = await p.create(
        NosanaCreateSpec(
            name="probe",
            market=next(iter(api.markets)),
            strategy=strategy,
            schedule="0 0 * * *" if strategy == "SCHEDULED" else None,
            timeout=60,
            job_definition=JOB,
        )
    )
    api.force_status(created.deployment.id, state)
    api.set_credits(account.api_key, credits)
    return p, await p.get(created.deployment.id)


@SETTINGS
@given(
    state=st.sampled_from(NOSANA_STATES),
    strategy=st.sampled_from(["SIMPLE", "SCHEDULED"]),
    credits=st.sampled_from([0, 1, 100]),
    op=NOSANA_OPS,
)
async def test_nosana_does_not_refuse_what_preflight_clears(
    cluster: tuple[SandboxCluster, ManualClock],
    state: str,
    strategy: str,
    credits: int,
    op: Operation,
) -> None:
    p, deployment = await nosana_deployment(cluster[0], state, strategy, credits)
    async with p:
        await check(p, op, deployment)


@SETTINGS
@given(
    state=st.sampled_from(NOSANA_STATES),
    credits=st.sampled_from([0, 100]),
    first=NOSANA_OPS,
    second=NOSANA_OPS,
)
async def test_nosana_does_not_refuse_a_chain_preflight_clears(
    cluster: tuple[SandboxCluster, ManualClock],
    state: str,
    credits: int,
    first: Operation,
    second: Operation,
) -> None:
    p, deployment = await nosana_deployment(cluster[0], state, "SIMPLE", credits)
    chain = Chain(target=deployment.id, steps=(first, second)).retarget("nosana", deployment.id)
    async with p:
        outcome = preflight(await gather(p, chain, deployment))
        if isinstance(outcome, Refused):
            return
        for step in chain.steps:  # as run_chain does: each step right after the previous one
            try:
                await execute(p, step, deployment.id)
            except DOOMED as exc:
                pytest.fail(
                    f"preflight cleared {chain.describe()} on {deployment.raw_status} but "
                    f"Nosana refused {step.kind.value}: {exc}"
                )


# -- NeuraNET ---------------------------------------------------------------------------------

NEURANET_STATES = ("pending", "starting", "running", "stopping", "stopped", "failed")


async def neuranet_deployment(
    cluster: SandboxCluster, state: str, cents: int
) -> tuple[BaseProvider, Deployment]:
    api = cluster.api("neuranet")
    assert isinstance(api, NeuraNetSandbox)
    key = api.add_api_key(balance_cents=cents)
    dep = api.create_deployment(key, NODE_RTX4090, template_id="ollama")
    api.force_status(dep.id, state)
    p = client(cluster, "neuranet", key)
    return p, await p.get(dep.id)


@SETTINGS
@given(
    state=st.sampled_from(NEURANET_STATES),
    cents=st.sampled_from([0, 100_000]),
    kind=st.sampled_from([OpKind.START, OpKind.STOP, OpKind.DELETE, OpKind.SCALE]),
)
async def test_neuranet_does_not_refuse_what_preflight_clears(
    cluster: tuple[SandboxCluster, ManualClock], state: str, cents: int, kind: OpKind
) -> None:
    p, deployment = await neuranet_deployment(cluster[0], state, cents)
    async with p:
        try:
            op = Operation(kind=kind, replicas=2) if kind is OpKind.SCALE else Operation(kind=kind)
            await check(p, op, deployment, unpriced=True)
        finally:  # free the node for the next example (a full node refuses starts)
            with contextlib.suppress(ProviderError):
                await p.delete(deployment.id)


# -- Akash ------------------------------------------------------------------------------------

AKASH_STATES = ("waiting for bids", "leased", "closed")


async def akash_deployment(
    cluster: SandboxCluster, clock: ManualClock, state: str, balance: Decimal
) -> tuple[BaseProvider, Deployment]:
    api = cluster.api("akash")
    assert isinstance(api, AkashSandbox)
    key = api.add_api_key(balance_usd=Decimal(100))
    p = client(cluster, "akash", key)
    sdl = build_sdl(QuickForm(image="nginx:1.27", port=80))
    created = await p.create(AkashCreateSpec(sdl=sdl, deposit_usd=Decimal(5)))
    dseq = created.deployment.id
    if state == "leased":
        clock.advance(11)
        bids = await p.bids(dseq)
        await p.accept_bids(dseq, [min(bids, key=lambda b: b.price_per_block)])
    elif state == "closed":
        api.force_close(dseq)
    api.set_balance(key, balance)
    return p, await p.get(dseq)


@SETTINGS
@given(
    state=st.sampled_from(AKASH_STATES),
    balance=st.sampled_from([Decimal(0), Decimal(3), Decimal(100)]),
    op=st.one_of(
        st.sampled_from(["0.5", "5", "50", "0"]).map(
            lambda usd: Operation(kind=OpKind.DEPOSIT, amount_usd=Decimal(usd))
        ),
        st.just(Operation(kind=OpKind.CLOSE)),
        st.just(Operation(kind=OpKind.START)),
    ),
)
async def test_akash_does_not_refuse_what_preflight_clears(
    cluster: tuple[SandboxCluster, ManualClock], state: str, balance: Decimal, op: Operation
) -> None:
    p, deployment = await akash_deployment(*cluster, state, balance)
    async with p:
        await check(p, op, deployment)


# -- and what can succeed is cleared --------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "op"),
    [
        ("STOPPED", Operation(kind=OpKind.START)),
        ("RUNNING", Operation(kind=OpKind.STOP)),
        ("STOPPED", Operation(kind=OpKind.ARCHIVE)),
        ("RUNNING", Operation(kind=OpKind.SCALE, replicas=3)),
        ("RUNNING", Operation(kind=OpKind.TIMEOUT, minutes=90)),
    ],
)
async def test_nosana_clears_what_can_succeed(
    cluster: tuple[SandboxCluster, ManualClock], state: str, op: Operation
) -> None:
    p, deployment = await nosana_deployment(cluster[0], state, "SIMPLE", 100)
    async with p:
        outcome = await check(p, op, deployment)
    assert isinstance(outcome, Cleared), outcome
    assert outcome.warnings == ()


async def test_akash_clears_a_deposit_the_balance_covers_and_refuses_a_larger_one(
    cluster: tuple[SandboxCluster, ManualClock],
) -> None:
    p, deployment = await akash_deployment(*cluster, "leased", Decimal(10))
    async with p:
        big = Operation(kind=OpKind.DEPOSIT, amount_usd=Decimal(50))
        too_much = await check(p, big, deployment)
        assert too_much == Refused(
            "The deposit ($50.00) is more than the Akash balance ($10.00): add funds to the "
            "account or deposit less."
        )
        fits = await check(p, Operation(kind=OpKind.DEPOSIT, amount_usd=Decimal(5)), deployment)
        assert isinstance(fits, Cleared), fits
        after = await p.get(deployment.id)
    assert Decimal(str(after.extras["escrow_funds_usd"])) > Decimal(
        str(deployment.extras["escrow_funds_usd"])
    )


async def test_neuranet_clears_a_start_of_a_stopped_deployment(
    cluster: tuple[SandboxCluster, ManualClock],
) -> None:
    p, deployment = await neuranet_deployment(cluster[0], "stopped", 100_000)
    async with p:
        outcome = await check(p, Operation(kind=OpKind.START), deployment, unpriced=True)
        assert isinstance(outcome, Cleared), outcome
        assert outcome.warnings == (
            "NeuraNET does not report a balance: it checks funds itself when the deployment "
            "starts.",
        )
        assert (await p.get(deployment.id)).status.value == "starting"
