"""The market/node catalog: look-up by reference, type-ahead filtering, labels."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.create.values import money, per_hour
from bot.providers.models import Market


def find_place(catalog: Sequence[Market] | None, ref: str) -> Market | None:
    """A market/node by id, or by exact slug/name (case-insensitive)."""
    ref = ref.strip()
    if not catalog or not ref:
        return None
    for item in catalog:
        if item.id == ref:
            return item
    low = ref.casefold()
    for item in catalog:
        if low in (item.name.casefold(), str(item.extras.get("slug") or "").casefold()):
            return item
    return None


def filter_places(catalog: Sequence[Market], query: str, limit: int = 100) -> list[Market]:
    """Type-ahead over markets/nodes: words match name, GPU, region or id; ``vram>=24`` (GB),
    ``region=us-east`` and ``max=1.5`` ($/hour) filter."""
    items = list(catalog)
    for token in (query or "").split():
        low = token.casefold()
        if match := re.fullmatch(r"vram>=?(\d+)", low):
            gb = int(match.group(1))
            items = [m for m in items if (m.vram_mb or 0) >= gb * 1024]
        elif match := re.fullmatch(r"(?:max|\$)<?=?\$?([0-9.]+)", low):
            cap = money(match.group(1))
            if cap is not None:
                items = [
                    m
                    for m in items
                    if m.price_per_hour_usd is not None and m.price_per_hour_usd <= cap
                ]
        elif low.startswith("region="):
            region = low.split("=", 1)[1]
            items = [m for m in items if (m.region or "").casefold() == region]
        else:
            items = [m for m in items if low in _haystack(m)]
    return items[:limit]


def _haystack(item: Market) -> str:
    """What a free word of the type-ahead is looked for in."""
    words = [
        item.id,
        item.name,
        item.gpu or "",
        item.region or "",
        str(item.extras.get("slug") or ""),
    ]
    return " ".join(words).casefold()


def place_label(item: Market) -> str:
    """``NVIDIA RTX 4090 · $0.39/h · RTX 4090 24 GB · load 2/5`` (≤ 75 characters)."""
    parts = [item.name]
    if item.price_per_hour_usd is not None:
        parts.append(per_hour(item.price_per_hour_usd))
    if item.gpu and item.gpu not in item.name:
        parts.append(item.gpu)
    if item.region:
        parts.append(item.region)
    if item.load:
        parts.append(f"load {item.load}")
    label = " · ".join(parts)
    return label if len(label) <= 75 else label[:74] + "…"


def gpu_label(place: Market) -> str:
    """``RTX 4090, 24 GB`` (the VRAM when the catalog says it)."""
    if place.vram_mb and str(place.vram_mb // 1024) not in (place.gpu or ""):
        return f"{place.gpu}, {place.vram_mb // 1024} GB"
    return str(place.gpu)
