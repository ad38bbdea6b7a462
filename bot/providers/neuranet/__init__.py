"""NeuraNET client: container deployments on a chosen GPU node (``/deployments``, ``/nodes``).

Wire facts (see ``docs/specs/neuranet.md``): ``Authorization: Bearer nn_live_…``; page/limit
pagination (limit ≤ 100) with ``{page, limit, total, totalPages}``; money in **cents**;
start/stop answer only ``{id, status}`` so the client refetches the deployment.

Decisions where the spec is silent ([U]):

* Unknown status words map to ``DeploymentStatus.UNKNOWN`` with ``raw_status`` verbatim.
* A node that is offline, in maintenance or full answers create/start with 409/400 "Node …
  is not accepting deployments". That is mapped to :class:`ValidationError` with
  ``field_errors["node_id"]``: the fix is to pick another node, and the create form can show
  the message next to the node field. Other 409s (and 400s whose text says "not running",
  "already running" …) are :class:`WrongStateError`.
* A 5xx answer to a POST or DELETE is :class:`OutcomeUnknownError` (it may have been carried out).
* ``cost_per_hour_usd`` is the node's ``hourlyRateCents`` while the deployment holds the node
  (pending, starting, running, stopping), ``0`` when stopped or failed, and ``None`` when the
  status or the node's rate is unknown. The node's rate is always in ``extras``.
* Env values may hold secrets (tokens), so only the env *names* go into ``extras``.

The client is a package of modules with one job each: ``client`` (the provider class),
``nodes`` (nodes and their cached prices), ``normalize`` (raw objects → models), ``errors``
(error answers → ProviderError kinds) and ``spec`` (what is sent, checked locally).
"""

from bot.providers.neuranet.client import NeuraNetProvider
from bot.providers.neuranet.errors import error_text, field_errors_from
from bot.providers.neuranet.normalize import (
    cents_to_usd,
    node_to_market,
    normalize_deployment,
    normalize_log_line,
    normalize_status,
    parse_time,
    usd_to_cents_floor,
)
from bot.providers.neuranet.spec import (
    MAX_NAME_LENGTH,
    NeuraNetCreateSpec,
    NeuraNetNodeFilters,
    valid_image,
)

__all__ = [
    "MAX_NAME_LENGTH",
    "NeuraNetCreateSpec",
    "NeuraNetNodeFilters",
    "NeuraNetProvider",
    "cents_to_usd",
    "error_text",
    "field_errors_from",
    "node_to_market",
    "normalize_deployment",
    "normalize_log_line",
    "normalize_status",
    "parse_time",
    "usd_to_cents_floor",
    "valid_image",
]
