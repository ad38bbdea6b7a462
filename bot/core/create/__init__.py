"""Creating deployments, the pure part: form values → provider spec, field errors, estimates.

A *form* is a flat ``{field: text}`` mapping, whatever it came from (the Slack modal, a stored
template, ``key=value`` overrides on ``/deploy create --template``, the local shell). Each
provider has its own fields (:data:`FIELDS`); :func:`build_spec` checks them all at once and
returns either the JSON-safe spec the provider's ``create`` takes or ``{field: message}`` for
the modal's ``response_action: errors``. Nothing here does I/O: the market/node catalog and the
balance are passed in.

The package splits the job: :mod:`.fields` (fields, defaults, limits), :mod:`.values` (small
value parsers), :mod:`.catalog` (markets/nodes), the per-provider builders (:mod:`.nosana`,
:mod:`.neuranet`, :mod:`.akash`) behind :mod:`.spec`, :mod:`.estimates` and :mod:`.templates`.
Importers use this module's names.
"""

from __future__ import annotations

from bot.core.create.built import Built
from bot.core.create.catalog import filter_places, find_place, place_label
from bot.core.create.estimates import Estimate, estimate
from bot.core.create.fields import (
    DEFAULTS,
    FIELDS,
    MAX_DEPOSIT,
    MAX_FIELD,
    MAX_REPLICAS,
    MAX_TIMEOUT,
    SAVE_AS,
    STOP_AFTER,
    STRATEGIES,
    TEMPLATE_NAME,
    known_fields,
    stop_after_seconds,
)
from bot.core.create.spec import build_spec
from bot.core.create.templates import apply_overrides, form_from_deployment, parse_overrides
from bot.core.create.values import parse_command, parse_env, per_hour, usd

__all__ = [
    "DEFAULTS",
    "FIELDS",
    "MAX_DEPOSIT",
    "MAX_FIELD",
    "MAX_REPLICAS",
    "MAX_TIMEOUT",
    "SAVE_AS",
    "STOP_AFTER",
    "STRATEGIES",
    "TEMPLATE_NAME",
    "Built",
    "Estimate",
    "apply_overrides",
    "build_spec",
    "estimate",
    "filter_places",
    "find_place",
    "form_from_deployment",
    "known_fields",
    "parse_command",
    "parse_env",
    "parse_overrides",
    "per_hour",
    "place_label",
    "stop_after_seconds",
    "usd",
]
