"""A create form → the provider's spec or field errors (:func:`build_spec`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.core.create import akash, neuranet, nosana
from bot.core.create.built import Built
from bot.core.create.fields import (
    MAX_FIELD,
    MAX_STOP_AFTER,
    MIN_STOP_AFTER,
    SAVE_AS,
    STOP_AFTER,
    TEMPLATE_NAME,
    stop_after_seconds,
)
from bot.core.create.values import text
from bot.providers.models import Market


def build_spec(
    provider: str, form: Mapping[str, str], catalog: Sequence[Market] | None = None
) -> Built:
    """Check every field; the spec the provider's ``create`` takes, or all the field errors."""
    fields = {k: str(v) for k, v in form.items() if v is not None}
    built = Built()
    for key, value in fields.items():
        if len(value) > MAX_FIELD * 4:
            built.errors[key] = "too long"
    name = text(fields, SAVE_AS)
    if name and not TEMPLATE_NAME.match(name):
        built.errors[SAVE_AS] = "a template name is lowercase letters, digits, . _ - (≤ 64)"
    match provider:
        case "nosana":
            nosana.build(fields, catalog, built)
        case "neuranet":
            neuranet.build(fields, catalog, built)
        case "akash":
            akash.build(fields, built)
        case _:
            built.errors["provider"] = "unknown provider"
    _stop_after(fields, built)
    if built.errors:
        built.spec = {}
    return built


def _stop_after(fields: Mapping[str, str], built: Built) -> None:
    value = text(fields, STOP_AFTER)
    if not value:
        return
    seconds = stop_after_seconds(value)
    if seconds is None:
        built.errors[STOP_AFTER] = "a duration like 4h, 90m or 2d (empty: never)"
    elif not MIN_STOP_AFTER <= seconds <= MAX_STOP_AFTER:
        built.errors[STOP_AFTER] = "between 15 minutes and 7 days"
    else:
        built.summary.append(("Stop after", value))
