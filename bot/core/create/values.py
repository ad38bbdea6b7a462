"""Small parsers of form values: text, whole numbers, money, yes/no, env lines, commands."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from bot.core import fmt

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$", re.IGNORECASE)


def text(form: Mapping[str, str], key: str) -> str:
    return str(form.get(key) or "").strip()


def whole(value: str, low: int, high: int, what: str) -> tuple[int | None, str | None]:
    """A whole number in ``[low, high]``, or a message saying what is wrong."""
    try:
        number = int(value.strip())
    except ValueError:
        return None, f"{what} must be a whole number"
    if not low <= number <= high:
        return None, f"{what} must be between {low} and {high}"
    return number, None


def money(value: str) -> Decimal | None:
    try:
        number = Decimal(value.strip().lstrip("$").replace(",", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def yes(value: str) -> bool:
    return value.strip().lower() in ("yes", "y", "true", "1", "on")


def parse_env(text: str) -> tuple[dict[str, str], str | None]:
    """``KEY=value`` lines (or ``;``-separated) → a dict; a message when a line is not one."""
    env: dict[str, str] = {}
    for raw in re.split(r"[\n;]", text or ""):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not ENV_NAME.match(key):
            return {}, f"“{line[:40]}” is not KEY=value (one per line)"
        env[key] = value.strip()
    return env, None


def parse_command(text: str) -> tuple[list[str], str | None]:
    text = (text or "").strip()
    if not text:
        return [], None
    try:
        return shlex.split(text), None
    except ValueError:
        return [], "a quote is not closed"


def usd(value: Decimal | None) -> str:
    """An amount by :mod:`bot.core.fmt`'s rules (``?`` when unknown)."""
    return fmt.usd(value, unknown="?")


def per_hour(value: Decimal | None) -> str:
    """An hourly rate by :mod:`bot.core.fmt`'s rules: ``$0.385/h`` (``?`` when unknown)."""
    return fmt.per_hour(value, unknown="?")
