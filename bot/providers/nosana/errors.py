"""Nosana's error answers as ProviderError kinds, with the request fields they name."""

from __future__ import annotations

import re
from typing import Any

import httpx

from bot.providers.error_text import one_line
from bot.providers.errors import (
    AuthenticationError,
    InsufficientFundsError,
    NotFoundError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
    WrongStateError,
)
from bot.providers.http import parse_retry_after, response_text

WRONG_STATE_TEXTS = (
    "Deployment is in the incorrect state.",
    "Cannot modify an archived deployment.",
    "Deployment is using an incorrect strategy.",
)
#: ``{"error"}`` texts of 400 answers that belong to one request field.
_FIELD_OF_ERROR = {
    "The specified revision does not exist.": "active_revision",
    "Timeout for infinite deployments must be at least 1 hour.": "timeout",
    "Rotation time must be at least 10 minutes less than timeout.": "rotation_time",
}

_ROUTE_NOT_FOUND = re.compile(r"^Route [A-Z]+:\S* not found$")
_AJV = re.compile(r"^(body|params|querystring|headers)(?:/(\S+))? (.+)$")
_AJV_REQUIRED = re.compile(r"must have required property '([^']+)'")
_SPLIT = re.compile(r", (?=(?:body|params|querystring|headers)[/ ]|[\w$.\[\]/-]*: )")


class RouteNotFoundError(NotFoundError):
    """Fastify's "Route … not found": this server has no such route (an older version)."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def parse_field_errors(message: str) -> dict[str, str]:
    """Field → message from a Fastify/AJV, TypeBox or typia validation ``message``.

    ``body/replicas must be >= 0`` → ``{"replicas": "must be >= 0"}``;
    ``replicas: Expected number`` → ``{"replicas": "Expected number"}``;
    ``job_definition$input.ops[0].id: string & TagBase<__type>`` and the bare
    ``$input.ops[0].id: …`` of create-revision → ``{"job_definition.ops[0].id": …}``.
    """
    out: dict[str, str] = {}
    for part in _SPLIT.split(message.strip()):
        ajv = _AJV.match(part)
        if ajv:
            where, path, text = ajv.groups()
            required = _AJV_REQUIRED.search(text)
            key = (path or "").replace("/", ".")
            if required:
                key, text = ".".join(filter(None, [key, required.group(1)])), "is required"
            out.setdefault(key or where, text)
            continue
        path, sep, text = part.partition(": ")
        if not sep:
            continue
        if not path and text == "Expected all values to match" and out:
            continue
        if "$input" in path:
            key = "job_definition" + path.split("$input", 1)[1]
        else:
            key = path.strip("/").replace("/", ".")
        out.setdefault(key or "body", text)
    return out


def map_error(response: httpx.Response, provider: str) -> ProviderError:
    """The ProviderError kind for one of Nosana's error answers."""
    status = response.status_code
    # The whole one-line text is matched (field errors can be long); people see it short.
    full = response_text(response, limit=2000)  # ProviderHTTP scrubs the key afterwards
    text = one_line(full)
    kw: dict[str, Any] = {"provider": provider, "status_code": status, "provider_text": full}
    if status in (401, 403) or "Authorization has expired" in full:
        return AuthenticationError(
            f"Nosana rejected the API key ({text or f'HTTP {status}'}).", **kw
        )
    if "Insufficient credits" in full or "InsufficientFundsForRent" in full:
        return InsufficientFundsError(f"Nosana: not enough credits ({text}).", **kw)
    if status == 404:
        if _ROUTE_NOT_FOUND.match(full):
            return RouteNotFoundError(f"This Nosana server has no such route ({text}).", **kw)
        return NotFoundError(f"Nosana: {text or 'not found.'}", **kw)
    if full in WRONG_STATE_TEXTS:
        return WrongStateError(f"Nosana refused: {text}", **kw)
    if status in (400, 422):
        fields = parse_field_errors(full)
        if full in _FIELD_OF_ERROR:
            fields = {_FIELD_OF_ERROR[full]: full}
        return ValidationError(f"Nosana rejected the request: {text}", field_errors=fields, **kw)
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimitedError("Nosana is rate limiting requests.", retry_after=wait, **kw)
    if status >= 500:
        detail = f": {text}" if text and text != f"HTTP {status}" else ""
        return UnavailableError(f"Nosana is having trouble (HTTP {status}{detail}).", **kw)
    return ProviderError(f"Nosana answered HTTP {status}: {text}", **kw)
