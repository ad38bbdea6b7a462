"""The outcome of checking a create form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.providers.models import Market


@dataclass
class Built:
    """The outcome of checking a form: a spec (JSON-safe) or field errors, plus facts for the
    estimate (the place's price per hour, the timeout in hours …)."""

    spec: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    place: Market | None = None
    summary: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors
