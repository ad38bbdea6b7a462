"""Akash wire values: decimals, coin lists, micro-USD, lease ids, whole numbers, dseq times."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.providers.akash_sdl import MICRO

#: Denoms the managed wallet pays in, all micro-USD (``uact`` since 2026-03-23, IBC USDC before).
_USD_DENOMS = ("uact", "usdc")
#: era C dseqs are ``Date.now()`` in ms; anything smaller is a block height (eras A/B).
_MS_DSEQ_MIN = 1_000_000_000_000


def decimal_places(value: Decimal) -> int:
    """Significant decimal places (``Decimal("5.250000")`` has 2)."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def to_decimal(value: Any, default: Decimal | None = None) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return default
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return default
    return result if result.is_finite() else default


def _coins(value: Any) -> list[dict[str, Any]]:
    """A coin list from era C ``[{denom, amount}]`` or era A's single ``{denom, amount}``."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [c for c in value if isinstance(c, dict)]
    return []


def coin_total(value: Any) -> tuple[Decimal, str | None]:
    coins = _coins(value)
    total = sum((to_decimal(c.get("amount"), Decimal(0)) or Decimal(0) for c in coins), Decimal(0))
    denom = next((str(c["denom"]) for c in coins if c.get("denom")), None)
    return total, denom


def is_usd_denom(denom: str | None) -> bool:
    """True for the micro-USD denoms the managed wallet uses (``uact``, IBC USDC)."""
    if not denom:
        return True  # an absent denom on an empty coin list costs nothing either way
    return denom in _USD_DENOMS or denom.startswith("ibc/")


def micro_to_usd(amount_micro: Decimal) -> Decimal:
    return amount_micro / MICRO


def json_decimal(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text


def lease_ident(lease: Mapping[str, Any]) -> dict[str, Any]:
    ident = lease.get("id") or lease.get("lease_id") or lease.get("bid_id") or {}
    return ident if isinstance(ident, dict) else {}


def int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def dseq_time(dseq: str) -> datetime | None:
    number = int_or_none(dseq)
    if number is None or number < _MS_DSEQ_MIN:
        return None
    try:
        return datetime.fromtimestamp(number / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
