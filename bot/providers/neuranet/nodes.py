"""NeuraNET's GPU nodes, and the cache of node prices that gives a deployment its cost."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from bot.providers.base import MAX_PAGES, BaseProvider
from bot.providers.errors import NotFoundError, ProviderError, UnavailableError
from bot.providers.models import Deployment, Market
from bot.providers.neuranet.normalize import (
    MAX_LIMIT,
    NODE_CACHE_TTL,
    int_or_none,
    node_to_market,
    normalize_deployment,
)
from bot.providers.neuranet.spec import NeuraNetNodeFilters, check_id

log = logging.getLogger(__name__)


class NeuraNetNodes(BaseProvider):
    """Nodes and their cached prices (the base of ``NeuraNetProvider``)."""

    def __init__(
        self,
        api_key: SecretStr | str,
        *,
        node_cache_ttl: float = NODE_CACHE_TTL,
        **kwargs: Any,
    ) -> None:
        """``kwargs`` as for BaseProvider (``base_url`` required, ``transport``, ``retry`` …)."""
        super().__init__(api_key, **kwargs)
        self.node_cache_ttl = node_cache_ttl
        #: node id → (monotonic expiry, the node or None when it could not be read).
        self._nodes: dict[str, tuple[float, Market | None]] = {}
        self._nodes_listed_until = 0.0

    # -- nodes ---------------------------------------------------------------------------

    async def nodes(self, **filters: Any) -> list[Market]:
        """All nodes matching the filters (walks every page).

        Filters: ``status`` (online/offline/maintenance), ``has_gpu``, ``min_gpu_vram_mb``,
        ``min_cpu_cores``, ``min_ram_mb``, ``region``, ``max_hourly_rate_usd`` (Decimal USD)
        or ``max_hourly_rate_cents``; the wire's camelCase names are accepted too.
        """
        query = NeuraNetNodeFilters.parse(filters).to_query()
        markets: list[Market] = []
        seen: set[str] = set()
        page = 1
        for _ in range(MAX_PAGES):
            body = await self._get_object(
                "/nodes", params={**query, "page": str(page), "limit": str(MAX_LIMIT)}
            )
            raw = body.get("nodes")
            if not isinstance(raw, list):
                raise self._malformed("GET /nodes", "no nodes list")
            for item in raw:
                if isinstance(item, Mapping) and item.get("id"):
                    market = node_to_market(item)
                    self._remember(market)
                    if market.id not in seen:
                        seen.add(market.id)
                        markets.append(market)
            pagination = body.get("pagination")
            pagination = pagination if isinstance(pagination, Mapping) else {}
            total_pages = int_or_none(pagination.get("totalPages"))
            more = page < total_pages if total_pages is not None else len(raw) >= MAX_LIMIT
            if not more or not raw:
                return markets
            page += 1
        raise UnavailableError(
            f"NeuraNET kept returning node pages after {MAX_PAGES}; stopped.", provider=self.name
        )

    async def node(self, node_id: str) -> Market:
        """One node in detail (operator, OS, Docker version, GPU driver …, in ``extras``)."""
        check_id(node_id, "node_id")
        body = await self._get_object(f"/nodes/{quote(node_id, safe='')}")
        raw = body.get("node")
        if not isinstance(raw, Mapping):
            raise self._malformed("GET /nodes/:id", "no node object")
        market = node_to_market(raw)
        self._remember(market)
        return market

    async def _get_object(
        self, path: str, *, params: Mapping[str, str] | None = None
    ) -> Mapping[str, Any]:
        body = await self.http.get_json(path, params=params)
        if not isinstance(body, Mapping):
            raise self._malformed(f"GET {path}", "not an object")
        return body

    def _malformed(self, call: str, what: str) -> UnavailableError:
        return UnavailableError(
            f"NeuraNET sent an unexpected answer to {call} ({what}).", provider=self.name
        )

    def _normalize(self, raw: Mapping[str, Any]) -> Deployment:
        node_id = raw.get("nodeId")
        return normalize_deployment(raw, node=self._cached_node(str(node_id)) if node_id else None)

    def _remember(self, market: Market) -> None:
        self._nodes[market.id] = (time.monotonic() + self.node_cache_ttl, market)

    def _cached_node(self, node_id: str) -> Market | None:
        entry = self._nodes.get(node_id)
        return entry[1] if entry is not None else None

    def _fresh(self, node_id: str) -> bool:
        entry = self._nodes.get(node_id)
        return entry is not None and entry[0] > time.monotonic()

    async def _ensure_nodes(self, node_ids: set[str], *, one_by_one: bool = False) -> None:
        """Make the nodes' prices known (best effort: a failure only leaves costs unknown)."""
        missing = {n for n in node_ids if not self._fresh(n)}
        if not missing:
            return
        now = time.monotonic()
        try:
            if one_by_one or len(missing) == 1:
                for node_id in missing:
                    try:
                        await self.node(node_id)
                    except NotFoundError:
                        self._nodes[node_id] = (now + self.node_cache_ttl, None)
            elif self._nodes_listed_until <= now:
                self._nodes_listed_until = now + self.node_cache_ttl
                await self.nodes()
                for node_id in missing:
                    if not self._fresh(node_id):
                        self._nodes[node_id] = (now + self.node_cache_ttl, None)
        except ProviderError as exc:
            log.info("NeuraNET node prices unavailable: %s", exc.message)
