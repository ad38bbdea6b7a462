"""The floor of a poll cycle: every list page read with a bare HTTP client and ``json.loads``.

Nothing else: no provider client, no retries, no models, no database. A watcher cycle that
finds nothing changed cannot cost less than this; ``bench/watcher_scale.py`` prints its cycle
as a multiple of it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import httpx

PAGE = 100


def _next_nosana(body: Any, cursor: str | None) -> str | None:
    if not isinstance(body, dict):
        return None
    return (body.get("pagination") or {}).get("cursor_next") or None


def _next_akash(body: Any, cursor: str | None) -> str | None:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not (data.get("pagination") or {}).get("hasMore"):
        return None
    return str(int(cursor or 0) + len(data.get("deployments") or []))


def _next_neuranet(body: Any, cursor: str | None) -> str | None:
    pages = (body.get("pagination") or {}).get("totalPages") if isinstance(body, dict) else None
    page = int(cursor or 1)
    return str(page + 1) if isinstance(pages, int) and page < pages else None


def _params(provider: str, cursor: str | None) -> dict[str, str]:
    if provider == "nosana":
        return {"limit": str(PAGE), "sort_order": "desc", **({"cursor": cursor} if cursor else {})}
    if provider == "akash":
        return {"skip": cursor or "0", "limit": str(PAGE)}
    return {"page": cursor or "1", "limit": str(PAGE)}


_PATHS = {"nosana": "/deployments", "akash": "/v1/deployments", "neuranet": "/deployments"}
_NEXT = {"nosana": _next_nosana, "akash": _next_akash, "neuranet": _next_neuranet}


class PageFloor:
    """Bare clients for (provider, base URL, auth headers) keys; ``walk`` reads every page."""

    def __init__(self, keys: Sequence[tuple[str, str, dict[str, str]]], concurrency: int) -> None:
        self.keys = [
            (provider, httpx.AsyncClient(base_url=url, headers=headers))
            for provider, url, headers in keys
        ]
        self._slots = asyncio.Semaphore(concurrency)

    async def _one(self, provider: str, client: httpx.AsyncClient) -> tuple[int, int]:
        pages = items = 0
        cursor: str | None = None
        async with self._slots:
            while True:
                response = await client.get(_PATHS[provider], params=_params(provider, cursor))
                body = json.loads(response.content)
                pages += 1
                data = body.get("data", body) if isinstance(body, dict) else body
                items += len(data.get("deployments") or []) if isinstance(data, dict) else 0
                following = _NEXT[provider](body, cursor)
                if not following or following == cursor:
                    return pages, items
                cursor = following

    async def walk(self) -> tuple[int, int]:
        """(pages, items) read over every key."""
        counts = await asyncio.gather(*(self._one(p, c) for p, c in self.keys))
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    async def aclose(self) -> None:
        for _, client in self.keys:
            await client.aclose()
