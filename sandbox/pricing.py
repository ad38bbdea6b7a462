"""Prices as the emulated networks compute them (independent of the client's arithmetic).

Nosana (spec nosana.md §9): a market's price per job-hour is
``usd_reward_per_hour × (1 + network_fee_percentage / 100)``.
Akash (spec akash.md §4.4, §6.1): prices are per block (~6 s, 600 blocks an hour) in micro
units of the denom; ``uact`` is micro-USD, so 1 USD/hour is 1e6 / 600 uact a block.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

AKASH_BLOCK_SECONDS = 6
AKASH_BLOCKS_PER_HOUR = 3600 // AKASH_BLOCK_SECONDS
MICRO = Decimal(1_000_000)


def _decimal(value: Any, default: Decimal) -> Decimal:
    if value is None or isinstance(value, bool):
        return default
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return default
    return number if number.is_finite() else default


def nosana_price_per_hour(usd_reward_per_hour: Any, network_fee_percentage: Any) -> Decimal:
    """USD per job-hour a client pays on a market (0 when the market has no reward set)."""
    reward = _decimal(usd_reward_per_hour, Decimal(0))
    fee = _decimal(network_fee_percentage, Decimal(0))
    return reward * (1 + fee / 100)


def uact_per_block(usd_per_hour: Decimal | int | str) -> Decimal:
    """Micro-USD per block for a price in USD/hour."""
    return Decimal(usd_per_hour) * MICRO / AKASH_BLOCKS_PER_HOUR


def usd_per_hour(uact_a_block: Decimal | int | str) -> Decimal:
    """USD/hour for a price in micro-USD per block (inverse of :func:`uact_per_block`)."""
    return Decimal(uact_a_block) * AKASH_BLOCKS_PER_HOUR / MICRO
