"""Nosana's GPU markets and the credit balance, with the cached market prices that give
a deployment its cost per hour."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import SecretStr

from bot.config import NOSANA_PRODUCTION_URL
from bot.providers.base import BaseProvider
from bot.providers.errors import NotFoundError, ProviderError, UnavailableError
from bot.providers.models import Balance, Deployment, Market
from bot.providers.nosana.normalize import (
    MARKET_TYPES,
    PUBKEY,
    check_id,
    invalid_field,
    to_decimal,
    to_deployment,
    to_market,
)


class NosanaMarkets(BaseProvider):
    """Markets, prices and the balance of a Nosana account (the base of ``NosanaProvider``)."""

    #: How long market prices are trusted before ``/markets/`` is read again (seconds).
    market_ttl: ClassVar[float] = 300.0

    def __init__(
        self,
        api_key: SecretStr | str,
        *,
        base_url: str = NOSANA_PRODUCTION_URL,
        monotonic: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        super().__init__(api_key, base_url=base_url, **kwargs)
        self._monotonic = monotonic
        self._markets: dict[str, tuple[float, Market | None]] = {}
        self._markets_listed_at: float | None = None

    # -- account and markets -------------------------------------------------------------------

    async def balance(self) -> Balance:
        body = await self.http.get_json("/credits/balance")
        if not isinstance(body, Mapping):
            raise UnavailableError(
                "Nosana answered the balance with an unexpected shape.", provider=self.name
            )
        parts = {
            name: to_decimal(body.get(key)) or Decimal(0)
            for name, key in (
                ("assigned", "assignedCredits"),
                ("reserved", "reservedCredits"),
                ("settled", "settledCredits"),
            )
        }
        available = parts["assigned"] - parts["reserved"] - parts["settled"]
        return Balance(available_usd=available, details=parts)

    async def markets(self, **filters: Any) -> list[Market]:
        """GPU markets; filters: ``type`` (PREMIUM/COMMUNITY/OTHER), ``filter_key`` +
        ``filter_value`` (a market field to match), ``limit``."""
        aliases = {"filterKey": "filter_key", "filterValue": "filter_value"}
        filters = {aliases.get(k, k): v for k, v in filters.items() if v is not None}
        unknown = set(filters) - {"type", "filter_key", "filter_value", "limit"}
        if unknown:
            raise invalid_field(
                sorted(unknown)[0],
                "is not a market filter (use type, filter_key, filter_value, limit)",
            )
        params: dict[str, str] = {}
        if "type" in filters:
            kind = str(filters["type"]).upper()
            if kind not in MARKET_TYPES:
                raise invalid_field("type", "must be PREMIUM, COMMUNITY or OTHER")
            params["type"] = kind
        if ("filter_key" in filters) != ("filter_value" in filters):
            raise invalid_field("filter_key", "filter_key and filter_value go together")
        if "filter_key" in filters:
            params["filterKey"] = str(filters["filter_key"])
            params["filterValue"] = str(filters["filter_value"])
        if "limit" in filters:
            limit = filters["limit"]
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise invalid_field("limit", "must be a whole number, 1 or more")
            params["limit"] = str(limit)
        body = await self.http.get_json("/markets/", params=params)
        if not isinstance(body, list):
            raise UnavailableError(
                "Nosana answered markets with an unexpected shape.", provider=self.name
            )
        markets = [to_market(m) for m in body if isinstance(m, Mapping) and m.get("address")]
        now = self._monotonic()
        for market in markets:
            self._markets[market.id] = (now, market)
        if not params:
            self._markets_listed_at = now
        return markets

    async def market(self, address: str) -> Market:
        """One GPU market by address."""
        body = await self.http.get_json(f"/markets/{check_id(address, 'market')}/")
        if not isinstance(body, Mapping):
            raise UnavailableError(
                "Nosana answered a market with an unexpected shape.", provider=self.name
            )
        market = to_market(body)
        self._markets[market.id] = (self._monotonic(), market)
        return market

    async def _market_prices(self, addresses: Iterable[Any]) -> dict[str, Decimal | None]:
        """Price per job-hour of each market, from a cache refreshed every ``market_ttl``.

        Best effort: a deployment is still shown (without a cost) when markets cannot be read.
        """
        wanted = {a for a in addresses if isinstance(a, str) and PUBKEY.match(a)}
        now = self._monotonic()

        def fresh(address: str) -> bool:
            entry = self._markets.get(address)
            return entry is not None and now - entry[0] < self.market_ttl

        try:
            listed_recently = (
                self._markets_listed_at is not None
                and now - self._markets_listed_at < self.market_ttl
            )
            if any(not fresh(a) for a in wanted) and not listed_recently:
                await self.markets()
            for address in sorted(a for a in wanted if not fresh(a))[:5]:
                try:
                    await self.market(address)
                except NotFoundError:
                    self._markets[address] = (now, None)
        except ProviderError:
            self._markets_listed_at = now  # do not hammer a failing endpoint: wait a TTL
        prices: dict[str, Decimal | None] = {}
        for address in wanted:
            entry = self._markets.get(address)
            market = entry[1] if entry else None
            prices[address] = market.price_per_hour_usd if market else None
        return prices

    async def normalize_listed(self, items: Sequence[Any]) -> list[Deployment]:
        prices = await self._market_prices(d.get("market") for d in items if isinstance(d, Mapping))
        return [self._with_market(to_deployment(d, prices.get(d.get("market")))) for d in items]

    async def _normalize(self, raw: Any) -> Deployment:
        market = raw.get("market") if isinstance(raw, Mapping) else None
        prices = await self._market_prices([market])
        deployment = to_deployment(raw, prices.get(market) if isinstance(market, str) else None)
        return self._with_market(deployment)

    def _with_market(self, deployment: Deployment) -> Deployment:
        """The deployment with its market's name and GPU (``market_name``, ``market_gpu``) when
        the market cache knows them (the prices just read filled it); unchanged otherwise."""
        address = deployment.extras.get("market")
        entry = self._markets.get(address) if isinstance(address, str) else None
        market = entry[1] if entry else None
        if market is None:
            return deployment
        facts = {"market_name": market.name, "market_gpu": market.gpu}
        extras = {**deployment.extras, **{k: v for k, v in facts.items() if v}}
        return deployment.model_copy(update={"extras": extras})
