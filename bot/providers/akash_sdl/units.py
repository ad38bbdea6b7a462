"""Units in an SDL: sizes, CPU millicores, GPU counts, price amounts and USD conversions.

Prices: ``pricing.<profile>.amount`` is the **maximum** price per block (~6 s) in micro units of
the pricing denom. The Console API rewrites every denom to its USD-pegged grant denom (``uact``,
formerly IBC USDC), so one micro unit is one millionth of a US dollar: USD/hour =
amount x 600 / 1e6.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

#: Average Akash block time (console ``apps/api/src/utils/constants.ts`` ``averageBlockTime``).
BLOCK_SECONDS = 6
BLOCKS_PER_HOUR = 3600 // BLOCK_SECONDS
MICRO = Decimal(1_000_000)

_AMOUNT_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_SIZE_RE = re.compile(r"^(\d+\.?\d*|\.\d+)([a-zA-Z]?)([a-zA-Z]*)$")
_SIZE_PREFIXES = "kmgtpe"
#: Chain DecCoin amounts carry 18 fractional digits.
_DEC_PLACES = Decimal("1.000000000000000000")


def parse_size(value: str | int | float) -> int:
    """Bytes in a memory/storage size (``512Mi``, ``1.5G``, ``1024``); raises ValueError.

    Same rules as chain-sdk ``convertResourceString``: ``k m g t p e`` prefixes, base 1024
    with an ``i`` suffix (``Gi``) else 1000, a bare number is bytes, rounded up.
    """
    if isinstance(value, bool):
        raise ValueError(f"Invalid size string: {value}")
    text = str(value).strip().lower()
    match = _SIZE_RE.match(text)
    if not match:
        raise ValueError(f"Invalid size string: {value}")
    number, prefix, suffix = match.groups()
    if prefix and prefix not in _SIZE_PREFIXES:
        raise ValueError(f"Invalid size string: {value}")
    if suffix not in ("", "i", "b", "ib"):
        raise ValueError(f"Invalid size string: {value}")
    base = 1024 if suffix.startswith("i") else 1000
    multiplier = base ** (_SIZE_PREFIXES.index(prefix) + 1) if prefix else 1
    return math.ceil(Decimal(number) * multiplier)


def parse_cpu_millis(units: str | int | float) -> int:
    """Millicores in a CPU amount (``0.5`` → 500, ``"100m"`` → 100, ``2`` → 2000)."""
    if isinstance(units, bool):
        raise ValueError(f"Invalid CPU units: {units}")
    if isinstance(units, int | float):
        if units < 0 or not math.isfinite(units):
            raise ValueError(f"Invalid CPU units: {units}")
        return math.ceil(Decimal(str(units)) * 1000)
    match = re.fullmatch(r"([\d.]+)([a-zA-Z]*)", units.strip())
    if not match:
        raise ValueError(f"Invalid CPU units: {units}")
    number, unit = match.groups()
    try:
        amount = Decimal(number)
    except InvalidOperation:
        raise ValueError(f"Invalid CPU units: {units}") from None
    if unit.lower() == "m":
        return math.ceil(amount)
    if unit:
        raise ValueError(f"Invalid CPU units: {units}")
    return math.ceil(amount * 1000)


def parse_gpu_units(units: Any) -> int:
    """GPU count (``1``, ``"2"``); 0 when absent. Raises ValueError for junk."""
    if units is None:
        return 0
    if isinstance(units, bool):
        raise ValueError(f"Invalid GPU units: {units}")
    if isinstance(units, int):
        value = units
    elif isinstance(units, float) and units.is_integer():
        value = int(units)
    elif isinstance(units, str) and units.strip().isdigit():
        value = int(units.strip())
    else:
        raise ValueError(f"Invalid GPU units: {units}")
    if value < 0:
        raise ValueError(f"Invalid GPU units: {units}")
    return value


def parse_amount(amount: Any) -> Decimal:
    """A pricing amount (number ≥ 0 or numeric string) as Decimal; raises ValueError."""
    if isinstance(amount, bool):
        raise ValueError(f"Invalid amount: {amount}")
    if isinstance(amount, int | float):
        if not math.isfinite(amount) or amount < 0:
            raise ValueError(f"Invalid amount: {amount}")
        return Decimal(str(amount))
    if isinstance(amount, str) and _AMOUNT_RE.match(amount):
        return Decimal(amount)
    raise ValueError(f"Invalid amount: {amount}")


def usd_per_hour(amount_per_block: Decimal | str | int) -> Decimal:
    """USD per hour for a per-block price in micro-USD (``uact``): amount x 600 / 1e6."""
    return Decimal(amount_per_block) * BLOCKS_PER_HOUR / MICRO


def amount_per_block(usd_hour: Decimal | str | int) -> Decimal:
    """Micro-USD per block for a USD/hour price (the inverse of :func:`usd_per_hour`)."""
    return Decimal(usd_hour) * MICRO / BLOCKS_PER_HOUR


def dec_coin_amount(amount: Decimal) -> str:
    """A price as the chain writes a DecCoin amount (``50`` → ``"50.000000000000000000"``)."""
    return str(amount.quantize(_DEC_PLACES))
