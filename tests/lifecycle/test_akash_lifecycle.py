"""Akash deployments through their whole life, with time moved by a ManualClock.

create → bids arrive after a delay → accept → lease starting → service URIs → escrow drawn per
block → deposit extends the runway → funds run out → insufficient_funds / closed; a separate
close; an SDL nobody bids on; the certificate era and the era where certificates are removed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bot.providers import akash_sdl
from bot.providers.akash import AkashCreateSpec, AkashProvider, escrow_runway
from bot.providers.errors import UnavailableError, WrongStateError
from bot.providers.http import RetryPolicy
from bot.providers.models import Capability, DeploymentStatus
from sandbox.akash import BLOCK_SECONDS, AkashSandbox
from sandbox.clock import ManualClock
from sandbox.common import RunningSandbox


@pytest.fixture
async def world(
    clock: ManualClock, fast_retry: RetryPolicy
) -> AsyncIterator[tuple[AkashSandbox, AkashProvider]]:
    sandbox = AkashSandbox(clock)
    key = sandbox.add_api_key(balance_usd=50)
    async with RunningSandbox(sandbox) as server:
        client = AkashProvider(key, base_url=server.base_url, retry=fast_retry)
        yield sandbox, client
        await client.aclose()


def _sdl(**changes: object) -> str:
    form = {
        "image": "vllm/vllm-openai:v0.6.3",
        "gpu_model": "rtx4090",
        "port": 8000,
        "max_price_usd_per_hour": Decimal("1.5"),
        **changes,
    }
    return akash_sdl.build_sdl(akash_sdl.QuickForm(**form))  # type: ignore[arg-type]


async def test_full_lifecycle_until_the_funds_run_out(
    world: tuple[AkashSandbox, AkashProvider], clock: ManualClock
) -> None:
    sandbox, client = world
    key = next(k for k in sandbox.accounts if k != sandbox.demo_api_key)

    # create
    result = await client.create(AkashCreateSpec(sdl=_sdl(), deposit_usd=Decimal(1)))
    dseq = result.deployment.id
    assert result.deployment.status is DeploymentStatus.PENDING
    assert client.available_actions(result.deployment) >= {Capability.BIDS, Capability.LEASE}
    assert sandbox.balance_of(key) == 49
    assert [d.id for d in await client.list_deployments()] == [dseq]

    # bids arrive after the delay
    clock.advance(5)
    assert await client.bids(dseq) == []
    clock.advance(5)
    bids = await client.bids(dseq)
    assert len(bids) >= 2 and {b.gpu for b in bids} == {"rtx4090"}
    cheapest = min(bids, key=lambda b: b.price_per_block)

    # accept → the lease starts
    leased = await client.accept_bids(dseq, [cheapest], manifest=result.extras["manifest"])
    assert leased.status is DeploymentStatus.STARTING
    assert leased.endpoints == ()
    assert client.available_actions(leased) == {
        Capability.CLOSE,
        Capability.DEPOSIT,
        Capability.REVISE,
    }
    price = cheapest.price_per_block
    assert leased.cost_per_hour_usd == price * 600 / 1_000_000

    # the provider brings the service up: an ingress URI and a forwarded port
    clock.advance(15)
    running = await client.get(dseq)
    assert running.status is DeploymentStatus.RUNNING
    urls = [e.url for e in running.endpoints]
    assert len(urls) == 1 and urls[0].startswith("http://") and ".ingress." in urls[0]
    assert running.replicas == 1

    # the escrow is drawn per 6-second block at the lease price
    funds_before = Decimal(running.extras["escrow_funds"])
    runway_before = escrow_runway(running)
    assert runway_before is not None
    clock.advance(BLOCK_SECONDS * 10)
    later = await client.get(dseq)
    assert Decimal(later.extras["escrow_funds"]) == funds_before - 10 * price
    assert Decimal(later.extras["escrow_transferred_usd"]) > 0
    assert escrow_runway(later) == runway_before - timedelta(seconds=60)

    # a deposit extends the runway
    topped = await client.deposit(dseq, Decimal("0.5"))
    extra_blocks = Decimal(500_000) / price
    runway_after = escrow_runway(topped)
    assert runway_after is not None
    assert (
        abs(
            (runway_after - escrow_runway(later)).total_seconds()  # type: ignore[operator]
            - float(extra_blocks * 6)
        )
        <= 6
    )
    assert sandbox.balance_of(key) == Decimal("48.5")

    # the funds run out: overdrawn, closed, lease insufficient_funds
    clock.advance(runway_after.total_seconds())
    still = await client.get(dseq)
    assert still.status is DeploymentStatus.RUNNING  # the last paid block
    clock.advance(BLOCK_SECONDS)
    broke = await client.get(dseq)
    assert broke.status is DeploymentStatus.INSUFFICIENT_FUNDS
    assert broke.extras["state"] == "closed"
    assert broke.extras["escrow_state"] == "overdrawn"
    assert Decimal(broke.extras["escrow_funds"]) == 0
    (lease,) = broke.extras["leases"]
    assert lease["state"] == "insufficient_funds"
    assert lease["reason"] == "lease_closed_reason_insufficient_funds"
    assert broke.cost_per_hour_usd == 0
    assert escrow_runway(broke) is None
    assert client.available_actions(broke) == frozenset()
    assert Decimal(broke.extras["escrow_transferred_usd"]) == Decimal("1.5")  # all of it
    # gone from the (active-only) list, still readable by id
    assert await client.list_deployments() == []
    with pytest.raises(WrongStateError):
        await client.deposit(dseq, Decimal(1))
    assert sandbox.balance_of(key) == Decimal("48.5")  # nothing refunded


async def test_close_refunds_what_is_left(
    world: tuple[AkashSandbox, AkashProvider], clock: ManualClock
) -> None:
    sandbox, client = world
    key = next(k for k in sandbox.accounts if k != sandbox.demo_api_key)
    result = await client.create(AkashCreateSpec(sdl=_sdl(), deposit_usd=Decimal(5)))
    dseq = result.deployment.id
    clock.advance(10)
    bid = (await client.bids(dseq))[0]
    await client.accept_bids(dseq, [bid])
    clock.advance(3600)
    spent = bid.price_per_block * 600 / 1_000_000  # one hour
    await client.close(dseq)
    closed = await client.get(dseq)
    assert closed.status is DeploymentStatus.CLOSED
    assert closed.extras["leases"][0]["reason"] == "lease_closed_owner"
    assert client.available_actions(closed) == frozenset()
    assert sandbox.balance_of(key) == Decimal(45) + Decimal(5) - spent
    assert await client.list_deployments() == []
    # later time moves nothing: no more charges after closing
    clock.advance(3600)
    assert (await client.get(dseq)).extras["escrow_transferred_usd"] == closed.extras[
        "escrow_transferred_usd"
    ]
    await client.close(dseq)


@pytest.mark.parametrize(
    "changes",
    [
        {"gpu_model": "h100", "max_price_usd_per_hour": Decimal("0.5")},  # too cheap
        {"gpu_model": "b200", "max_price_usd_per_hour": Decimal(50)},  # nobody has one
    ],
    ids=["price-too-low", "gpu-nobody-has"],
)
async def test_no_bids(
    world: tuple[AkashSandbox, AkashProvider], clock: ManualClock, changes: dict[str, object]
) -> None:
    _, client = world
    result = await client.create(AkashCreateSpec(sdl=_sdl(**changes), deposit_usd=Decimal(1)))
    for step in (10, 60, 600):
        clock.advance(step)
        assert await client.bids(result.deployment.id) == []
    deployment = await client.get(result.deployment.id)
    assert deployment.status is DeploymentStatus.PENDING
    assert deployment.raw_status == "active (waiting for bids)"
    await client.close(result.deployment.id)


async def test_unaccepted_bids_expire(
    world: tuple[AkashSandbox, AkashProvider], clock: ManualClock
) -> None:
    sandbox, client = world
    result = await client.create(AkashCreateSpec(sdl=_sdl(), deposit_usd=Decimal(1)))
    dseq = result.deployment.id
    clock.advance(10)
    bids = await client.bids(dseq)
    clock.advance(sandbox.bid_timeout)
    assert {b.state for b in await client.bids(dseq)} == {"closed"}
    with pytest.raises(WrongStateError):
        await client.accept_bids(dseq, bids[:1])
    assert (await client.get(dseq)).status is DeploymentStatus.PENDING


async def test_certificate_era(clock: ManualClock, fast_retry: RetryPolicy) -> None:
    sandbox = AkashSandbox(clock, certificates_required=True)
    async with RunningSandbox(sandbox) as server:
        client = AkashProvider(sandbox.demo_api_key, base_url=server.base_url, retry=fast_retry)
        certificate = await client.ensure_certificate()
        assert certificate is not None
        cert = x509.load_pem_x509_certificate(certificate.cert_pem.encode())
        owner = sandbox.owner_of(sandbox.demo_api_key)
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == owner
        assert cert.issuer == cert.subject
        assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
        assert cert.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert ExtendedKeyUsageOID.CLIENT_AUTH in usage
        assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 365
        key = serialization.load_pem_private_key(
            certificate.key_pem.get_secret_value().encode(),
            password=None,  # unencrypted
        )
        assert key.public_key().public_numbers() == cert.public_key().public_numbers()
        assert "PRIVATE KEY" not in repr(certificate)

        result = await client.create(AkashCreateSpec(sdl=_sdl(), deposit_usd=Decimal(5)))
        dseq = result.deployment.id
        clock.advance(10)
        bids = await client.bids(dseq)
        leased = await client.accept_bids(dseq, bids[:1])  # sent with the certificate
        assert leased.status is DeploymentStatus.STARTING
        clock.advance(15)
        assert (await client.get(dseq)).status is DeploymentStatus.RUNNING

        # a certificate the account never got is refused by the provider
        other = AkashSandbox(ManualClock(), certificates_required=True)
        async with RunningSandbox(other) as server2:
            stranger = AkashProvider(
                other.demo_api_key, base_url=server2.base_url, retry=fast_retry
            )
            foreign_cert = await stranger.ensure_certificate()
            await stranger.aclose()
        client.certificate = foreign_cert
        second = await client.create(AkashCreateSpec(sdl=_sdl(), deposit_usd=Decimal(5)))
        clock.advance(10)
        with pytest.raises(UnavailableError) as info:
            await client.accept_bids(
                second.deployment.id, (await client.bids(second.deployment.id))[:1]
            )
        assert info.value.provider_text == "Invalid provider mtls credentials"
        await client.aclose()


async def test_certificates_removed_era(
    world: tuple[AkashSandbox, AkashProvider], clock: ManualClock
) -> None:
    sandbox, client = world
    assert await client.ensure_certificate() is None
    assert client.certificate is None
    result = await client.create(AkashCreateSpec(sdl=_sdl(), deposit_usd=Decimal(5)))
    clock.advance(10)
    bids = await client.bids(result.deployment.id)
    assert all("certificate_required" not in b.extras for b in bids)
    leased = await client.accept_bids(result.deployment.id, bids[:1])
    assert leased.extras["leases"][0]["state"] == "active"
    assert sandbox.count("POST", "/v1/certificates") == 1
