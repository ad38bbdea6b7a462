"""Cron schedules of SCHEDULED Nosana deployments (spec §5.2)."""

from __future__ import annotations

import re
from typing import Any

from croniter import croniter

__all__ = ["CRON_PATTERN", "cron_problem"]

#: What the deployment manager checks for ``schedule``: five whitespace-separated fields.
CRON_PATTERN = re.compile(r"^\S+\s+\S+\s+\S+\s+\S+\s+\S+$")


def cron_problem(expression: Any) -> str | None:
    """Why ``expression`` is not a usable 5-field cron schedule, or None when it is."""
    if not isinstance(expression, str) or not expression.strip():
        return "must be a cron expression such as '0 * * * *'"
    fields = expression.split()
    if len(fields) != 5:
        return f"must have 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
    if not croniter.is_valid(expression):
        return f"'{expression.strip()}' is not a valid cron expression"
    return None
