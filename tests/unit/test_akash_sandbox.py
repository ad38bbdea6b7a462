"""The Akash emulator's model, without HTTP: escrow maths, indexes, addresses, determinism."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.providers import akash_sdl
from sandbox.akash import (
    AUDITOR,
    BLOCK_SECONDS,
    USD,
    AkashSandbox,
    _ActiveIndex,
    _polymod,
    bech32_address,
    dec_coin,
    height_at,
)
from sandbox.clock import DEFAULT_START, ManualClock

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_ok(address: str) -> bool:
    hrp, _, data = address.rpartition("1")
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    values += [_CHARSET.index(c) for c in data]
    return _polymod(values) == 1


def test_bech32_matches_real_addresses() -> None:
    assert _bech32_ok(AUDITOR)  # the real Console auditor address
    assert not _bech32_ok(AUDITOR[:-1] + ("q" if AUDITOR[-1] != "q" else "p"))
    address = bech32_address(bytes(range(20)))
    assert address.startswith("akash1") and len(address) == 44
    assert _bech32_ok(address)


def test_dec_coin_has_18_decimals() -> None:
    assert dec_coin(5 * USD) == "5000000.000000000000000000"
    assert dec_coin(1_523 * 10**15) == "1.523000000000000000"
    assert dec_coin(0) == "0.000000000000000000"


def test_heights_follow_the_clock() -> None:
    assert height_at(DEFAULT_START + 6 * 10 + 5) == height_at(DEFAULT_START) + 10


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 10_000)), min_size=1, max_size=120))
def test_active_index_agrees_with_a_plain_list(ops: list[tuple[bool, int]]) -> None:
    index = _ActiveIndex()
    model: list[tuple[int, bool]] = []
    for is_append, n in ops:
        if is_append or not model:
            pos = index.append(len(model))  # type: ignore[arg-type]
            assert pos == len(model)
            model.append((len(model), True))
        else:
            pos = n % len(model)
            index.unlist(pos)
            model[pos] = (model[pos][0], False)
        listed = [item for item, flag in model if flag]
        assert index.listed == len(listed)
        for skip in {0, 1, len(listed) // 2, max(0, len(listed) - 1)}:
            assert index.page(skip, 3) == listed[skip : skip + 3]


def _leased(sandbox: AkashSandbox, deposit: Decimal = Decimal(5)) -> str:
    """Create a GPU deployment through the model and lease its cheapest bid."""
    key = sandbox.demo_api_key
    doc = akash_sdl.load_sdl(
        akash_sdl.build_sdl(
            akash_sdl.QuickForm(image="nginx:1.27", gpu_model="rtx4090", max_price_usd_per_hour=2)
        )
    )
    now = sandbox.clock.now()
    dep = sandbox._create_deployment(sandbox.accounts[key], doc, int(deposit * USD), now)
    sandbox._arrive_bids(dep, now)
    cheapest = min(dep.bids, key=lambda b: b.price)
    sandbox._create_leases(dep, [cheapest], now, manifest_ok=True)
    return dep.dseq


def test_escrow_is_drawn_per_block_and_runs_out_at_the_computed_block() -> None:
    clock = ManualClock()
    sandbox = AkashSandbox(clock, seed=True)
    dseq = _leased(sandbox, Decimal(1))
    dep = sandbox.deployment(dseq)
    rate = dep.rate
    funds = dep.funds
    clock.advance(BLOCK_SECONDS * 10 - 0.001)  # 9 whole blocks
    assert sandbox.funds_usd(dseq) == Decimal(funds - 9 * rate) / USD
    clock.advance(0.001)
    assert sandbox.funds_usd(dseq) == Decimal(funds - 10 * rate) / USD
    last_paid_block = funds // rate
    clock.set(dep.settled_time + last_paid_block * BLOCK_SECONDS + BLOCK_SECONDS - 0.01)
    assert sandbox.deployment(dseq).state == "active"
    assert sandbox.deployment(dseq).funds >= 0
    clock.advance(0.01)
    dep = sandbox.deployment(dseq)
    assert dep.state == "closed"
    assert dep.escrow_state == "overdrawn"
    assert dep.funds == 0
    assert dep.transferred == funds
    assert [lease.state for lease in dep.leases] == ["insufficient_funds"]
    assert dep.leases[0].reason == "lease_closed_reason_insufficient_funds"
    assert dep not in sandbox.accounts[sandbox.demo_api_key].index.page(0, 1000)


def test_deposit_invalidates_the_old_exhaustion_event() -> None:
    clock = ManualClock()
    sandbox = AkashSandbox(clock)
    dseq = _leased(sandbox, Decimal(1))
    dep = sandbox.deployment(dseq)
    first_due = dep.settled_time + (dep.funds // dep.rate + 1) * BLOCK_SECONDS
    sandbox._settle(dep, clock.now())
    dep.funds += 10 * USD
    sandbox._reschedule(dep)
    clock.set(first_due + 1)
    assert sandbox.deployment(dseq).state == "active"


def test_idle_advance_is_constant_time_with_many_deployments() -> None:
    sandbox = AkashSandbox(ManualClock())
    start = time.perf_counter()
    sandbox.seed_bulk(sandbox.demo_api_key, 20_000)
    assert time.perf_counter() - start < 2.0
    pending = len(sandbox._events)
    start = time.perf_counter()
    for _ in range(10_000):
        sandbox.advance()
    assert time.perf_counter() - start < 0.2
    assert len(sandbox._events) == pending
    index = sandbox.accounts[sandbox.demo_api_key].index
    start = time.perf_counter()
    page = index.page(index.listed - 100, 100)
    assert time.perf_counter() - start < 0.05
    assert len(page) == 100


def test_seed_is_deterministic_for_a_given_rng_seed() -> None:
    def world(rng_seed: int) -> list[tuple[str, str, list[str], list[int]]]:
        sandbox = AkashSandbox(ManualClock(), rng_seed=rng_seed)
        out = []
        for dep in sandbox.deployments_of(sandbox.demo_api_key):
            status = [
                sandbox._lease_status(dep, lease, sandbox.clock.now()) for lease in dep.leases
            ]
            uris = [u for s in status if s for svc in s["services"].values() for u in svc["uris"]]
            out.append((dep.dseq, dep.state, uris, [b.price for b in dep.bids]))
        return out

    assert world(7) == world(7)
    assert world(7) != world(8)


def test_seeded_demo_world_has_varied_states() -> None:
    sandbox = AkashSandbox(ManualClock())
    deps = sandbox.deployments_of(sandbox.demo_api_key)
    states = [(d.state, d.escrow_state, bool(d.leases), bool(d.bids)) for d in deps]
    assert ("closed", "closed", True, True) in states
    assert ("closed", "overdrawn", True, True) in states
    assert ("active", "open", True, True) in states
    assert ("active", "open", False, True) in states  # bids waiting
    assert ("active", "open", False, False) in states  # bids not in yet
    assert sandbox.balance_of(sandbox.demo_api_key) < 250
    assert AkashSandbox(ManualClock(), seed=False).accounts == {}


def test_providers_bid_only_with_the_gpu_and_within_the_price() -> None:
    sandbox = AkashSandbox(ManualClock(), seed=False)
    key = sandbox.add_api_key(balance_usd=100)
    account = sandbox.accounts[key]

    def bidders(form: akash_sdl.QuickForm) -> set[str]:
        doc = akash_sdl.load_sdl(akash_sdl.build_sdl(form))
        dep = sandbox._create_deployment(account, doc, USD, sandbox.clock.now())
        sandbox._arrive_bids(dep, sandbox.clock.now())
        return {b.provider.name for b in dep.bids}

    assert bidders(akash_sdl.QuickForm(image="x1", gpu_model="h100", max_price_usd_per_hour=5)) == {
        "parallelnode"
    }
    assert bidders(
        akash_sdl.QuickForm(image="x1", gpu_model="rtx4090", max_price_usd_per_hour=5)
    ) == {"europlots", "rtxcloud"}
    # too cheap for any H100
    assert (
        bidders(akash_sdl.QuickForm(image="x1", gpu_model="h100", max_price_usd_per_hour=1))
        == set()
    )
    # nobody has a b200; the unaudited homelab never bids
    assert (
        bidders(akash_sdl.QuickForm(image="x1", gpu_model="b200", max_price_usd_per_hour=50))
        == set()
    )
    assert "homelab-unaudited" not in bidders(
        akash_sdl.QuickForm(image="x1", gpu_model="rtx3090", max_price_usd_per_hour=5)
    )
    any_gpu = bidders(akash_sdl.QuickForm(image="x1", gpu_model=None, max_price_usd_per_hour=5))
    assert any_gpu == {"europlots", "parallelnode", "rtxcloud"}


def test_add_api_key_rules() -> None:
    sandbox = AkashSandbox(ManualClock())
    key = sandbox.add_api_key(balance_usd="12.5")
    assert key.startswith("ac.sk.production.") and len(key) == len("ac.sk.production.") + 64
    assert sandbox.balance_of(key) == Decimal("12.5")
    assert sandbox.owner_of(key) != sandbox.owner_of(sandbox.demo_api_key)
    with pytest.raises(ValueError):
        sandbox.add_api_key(key)
    with pytest.raises(ValueError):
        sandbox.add_api_key("sk-not-akash")
    sandbox.set_balance(key, 3)
    assert sandbox.balance_of(key) == 3
