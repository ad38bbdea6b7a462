"""The create form's fields per provider, their defaults and limits."""

from __future__ import annotations

import re
from decimal import Decimal

STRATEGIES = ("SIMPLE", "SIMPLE-EXTEND", "SCHEDULED", "INFINITE")
MAX_FIELD = 3000
MAX_REPLICAS = 100
MAX_TIMEOUT = 60 * 24 * 30
MAX_DEPOSIT = Decimal(100_000)
TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

#: The form fields of each provider, in the order the modal shows them. ``save_as`` (save the
#: form as a template too) is common to all.
FIELDS: dict[str, tuple[str, ...]] = {
    "nosana": (
        "name",
        "market",
        "replicas",
        "timeout",
        "strategy",
        "schedule",
        "rotation_time",
        "image",
        "command",
        "gpu",
        "port",
        "env",
        "job_definition",
        "autostart",
    ),
    "neuranet": ("name", "node", "template_id", "custom_image", "env"),
    "akash": (
        "sdl",
        "image",
        "gpu_model",
        "gpu_units",
        "cpu",
        "memory",
        "storage",
        "port",
        "max_price",
        "env",
        "deposit",
        "auto_accept",
        "auto_after",
        "auto_providers",
        "auto_min_uptime",
    ),
}
DEFAULTS: dict[str, dict[str, str]] = {
    "nosana": {
        "replicas": "1",
        "timeout": "60",
        "strategy": "SIMPLE",
        "gpu": "yes",
        "autostart": "yes",
    },
    "neuranet": {},
    "akash": {
        "gpu_model": "any",
        "gpu_units": "1",
        "cpu": "2",
        "memory": "8Gi",
        "storage": "20Gi",
        "port": "8080",
        "max_price": "1.00",
        "deposit": "5",
        "auto_accept": "no",
    },
}
SAVE_AS = "save_as"
#: "Stop after" (optional, every provider): a stop timer filed when the deployment is created.
STOP_AFTER = "stop_after"
#: A stop after is at most a week, and at least 15 minutes.
MAX_STOP_AFTER = 7 * 86400
MIN_STOP_AFTER = 15 * 60
_DURATION = re.compile(r"^(\d{1,6})\s*(m|min|mins|h|hr|hrs|hours?|d|days?)?$", re.I)


def stop_after_seconds(value: str) -> int | None:
    """``4h``, ``90m``, ``2d`` (a bare number is hours) → seconds; None when it isn't one."""
    match = _DURATION.match(value.strip())
    if not match:
        return None
    unit = (match.group(2) or "h").lower()[:1]
    return int(match.group(1)) * {"m": 60, "h": 3600, "d": 86400}[unit]


def known_fields(provider: str) -> tuple[str, ...]:
    return (*FIELDS[provider], STOP_AFTER, SAVE_AS)
