"""Akash Network through the Console API's managed wallet (API key), era C shapes.

Wire facts come from ``docs/specs/akash.md`` (read from ``akash-network/console`` ``apps/api``):

* auth: ``x-api-key: <raw key>``; bodies ``{"data": …}`` except ``POST /v1/leases`` (flat);
  answers ``{"data": …}`` except the public provider endpoints (bare);
* a deployment (``dseq``) is created with an SDL and a deposit, providers bid on each of its
  groups, accepting bids (``POST /v1/leases``) starts the workload, the escrow is drawn every
  block (~6 s) at the sum of the active lease prices, and when it runs dry the chain closes the
  deployment (leases ``insufficient_funds``). There is no start/stop/scale on Akash.

Money: prices are micro-USD (``uact``, formerly IBC USDC, both pegged 1:1 to USD) per block;
USD/hour = amount x 600 / 1e6 (:func:`usd_per_hour`). Deposits are sent as USD numbers.

Idempotency (nothing here carries an idempotency key; the server has none):

* create and deposit are never re-sent (a new deployment / a second top-up each time);
* ``POST /v1/leases`` is idempotent in era C (since 2026-06-30 the server skips lease creation
  when a non-closed lease exists and only re-sends the manifest), so it is retried on 5xx and
  timeouts **only when no certificate is held**. Holding a certificate means the server is
  from the certificate era (A/B), where a retry hits "bid not open" and a timeout leaves the
  outcome unknown, so there it is sent once (``OutcomeUnknownError`` on a timeout);
* ``DELETE`` (close) is idempotent in era C; in eras A/B a repeat answers
  ``400 Deployment closed``, which :meth:`AkashProvider.close` treats as success;
* ``PUT`` (revise) with the same SDL is a no-op on the server (hash unchanged), so it is retried.

The client is a package of modules with one job each: ``client`` (the provider class),
``leasing`` (certificates, bids, leases), ``plumbing`` (auth, errors, local checks, envelopes),
``normalize`` (raw objects → models), ``leases`` (a deployment's leases summed up), ``convert``
(wire values), ``watch`` (what the watcher diffs on), ``errors`` and ``spec``.
"""

from bot.providers.akash.client import AkashProvider
from bot.providers.akash.normalize import escrow_runway, normalize_bid, normalize_deployment
from bot.providers.akash.spec import AkashCertificate, AkashCreateSpec
from bot.providers.akash_sdl import usd_per_hour

__all__ = [
    "AkashCertificate",
    "AkashCreateSpec",
    "AkashProvider",
    "escrow_runway",
    "normalize_bid",
    "normalize_deployment",
    "usd_per_hour",
]
