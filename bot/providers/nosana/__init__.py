"""Nosana deployments through the dashboard API (``https://dashboard.k8s.prd.nos.ci/api``).

Wire facts, as the real deployment manager behaves: Bearer ``nos_…`` keys; start, stop and
archive are POST; revisions go to ``create-revision`` with the bare job definition; the PATCH
``update-*`` routes; keyset cursors with ``limit`` ∈ {10, 20, 50, 100}; wrong state is HTTP 500
with an ``error`` text, never 409; 401 bodies are plain text; ``GET /deployments`` is
``{deployments, pagination}`` today but was a bare array before 2026-02 (both are accepted).

Money: a market's price per job-hour is ``usd_reward_per_hour × (1 + network_fee_percentage /
100)``; a deployment's ``cost_per_hour_usd`` is that price times its replicas (markets are
cached for a few minutes, and the markets endpoint is public).

The client is a package of modules with one job each: ``client`` (the provider class, reading),
``actions`` (the calls that change a deployment), ``markets`` (markets, prices, balance),
``normalize`` (raw objects → models), ``errors`` (error answers → ProviderError kinds) and
``spec`` (the create spec).
"""

from bot.providers.nosana.client import NosanaProvider
from bot.providers.nosana.errors import RouteNotFoundError, parse_field_errors
from bot.providers.nosana.normalize import (
    PAGE_LIMITS,
    STATUS_MAP,
    market_price_per_hour,
    page_limit,
    to_deployment,
    to_market,
)
from bot.providers.nosana.spec import NosanaCreateSpec

__all__ = [
    "PAGE_LIMITS",
    "STATUS_MAP",
    "NosanaCreateSpec",
    "NosanaProvider",
    "RouteNotFoundError",
    "market_price_per_hour",
    "page_limit",
    "parse_field_errors",
    "to_deployment",
    "to_market",
]
