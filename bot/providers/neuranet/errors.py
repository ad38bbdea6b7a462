"""NeuraNET's error answers as ProviderError kinds, with the request fields they name."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from bot.providers.error_text import one_line, status_phrase
from bot.providers.errors import (
    AuthenticationError,
    InsufficientFundsError,
    NotFoundError,
    OutcomeUnknownError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
    WrongStateError,
)
from bot.providers.http import parse_retry_after, response_text
from bot.providers.models import ProviderName
from bot.providers.neuranet.normalize import WIRE_FIELDS

_WRONG_STATE_RE = re.compile(
    r"not running|not stopped|already (?:running|started|stopped|stopping|starting|deleted)"
    r"|cannot (?:be )?(?:start|stop|restart)|can't (?:start|stop)|invalid (?:state|status)"
    r"|current (?:state|status)|is (?:stopping|starting|pending|deleting)\b",
    re.IGNORECASE,
)
_NODE_UNAVAILABLE_RE = re.compile(
    r"\bnode\b.*(?:not accepting|offline|maintenance|\bfull\b|capacity|unavailable|not available"
    r"|no (?:free )?slots?)",
    re.IGNORECASE,
)
_INSUFFICIENT_RE = re.compile(
    r"insufficient (?:funds|balance|credits?)|not enough (?:credits?|funds|balance)|top up"
    r"|payment required",
    re.IGNORECASE,
)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_text(body: Any, fallback: str) -> str:
    """The provider's own words from ``{"error": …}``, ``{"message": …}`` or plain text."""
    if isinstance(body, Mapping):
        parts: list[str] = []
        for key in ("error", "message", "detail"):
            value = body.get(key)
            if isinstance(value, Mapping):
                value = value.get("message") or value.get("error")
            if isinstance(value, str) and value.strip():
                value = value.strip()
                if not any(value in p or p in value for p in parts):
                    parts.append(value)
        if parts:
            return _one_line(": ".join(parts))
        return _one_line(str(body)) if body else fallback
    if isinstance(body, str) and body.strip():
        return _one_line(body)
    return fallback


def _wire_path_to_field(path: str) -> str:
    head, _, rest = path.partition(".")
    head = WIRE_FIELDS.get(head, head)
    return f"{head}.{rest}" if rest else head


def field_errors_from(body: Any) -> dict[str, str]:
    """Field messages from the shapes validation libraries send (zod, express-validator, …)."""
    if not isinstance(body, Mapping):
        return {}
    containers = [body]
    if isinstance(body.get("error"), Mapping):
        containers.append(body["error"])
    for container in containers:
        for key in ("details", "errors", "fields", "issues", "fieldErrors"):
            found = _fields_of(container.get(key))
            if found:
                return found
    return {}


def _fields_of(details: Any) -> dict[str, str]:
    fields: dict[str, str] = {}
    if isinstance(details, Mapping):
        for key, value in details.items():
            if isinstance(value, list):
                message: Any = "; ".join(str(v) for v in value)
            elif isinstance(value, Mapping):
                message = value.get("message") or value.get("msg") or str(value)
            else:
                message = value
            fields[_wire_path_to_field(str(key))] = _one_line(str(message), 200)
    elif isinstance(details, list):
        for item in details:
            if not isinstance(item, Mapping):
                continue
            path = next(
                (item[k] for k in ("path", "field", "param", "loc", "property") if item.get(k)),
                None,
            )
            if path is None:
                continue
            if isinstance(path, list | tuple):
                path = ".".join(str(p) for p in path if p not in ("body",))
            message = item.get("message") or item.get("msg") or item.get("error") or "Invalid."
            fields.setdefault(_wire_path_to_field(str(path)), _one_line(str(message), 200))
    return fields


def map_error(
    response: httpx.Response, provider: ProviderName, scrub: Callable[[str], str]
) -> ProviderError:
    """The ProviderError kind for one of NeuraNET's error answers; ``scrub`` hides the key."""
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    # The whole text is matched; people see one short line (an HTML page: its title).
    if isinstance(body, Mapping):
        full = scrub(error_text(body, status_phrase(status)))
    else:
        full = scrub(response_text(response, limit=2000))
    text = one_line(full)
    fields = {scrub(k): scrub(v) for k, v in field_errors_from(body).items()}
    method, path = _request_of(response)
    common: dict[str, Any] = {
        "provider": provider,
        "status_code": status,
        "provider_text": full,
    }

    if status == 401:
        return AuthenticationError(f"NeuraNET refused the API key: “{text}”.", **common)
    if status == 402 or (status < 500 and _INSUFFICIENT_RE.search(full)):
        return InsufficientFundsError(
            f"NeuraNET: not enough credits: “{text}”. Top up the account.", **common
        )
    if status == 403:
        return AuthenticationError(
            f"NeuraNET denied access: “{text}”; the key may lack permission.", **common
        )
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimitedError(
            f"NeuraNET is rate limiting requests: “{text}”.", retry_after=wait, **common
        )
    if status >= 500:
        if method not in ("GET", "HEAD", "OPTIONS"):
            return OutcomeUnknownError(
                f"NeuraNET failed while handling {method} {path} (HTTP {status}: “{text}”); "
                "it may or may not have been carried out.",
                **common,
            )
        return UnavailableError(
            f"NeuraNET is not answering properly (HTTP {status}: “{text}”).", **common
        )
    if status == 404:
        about_node = "/nodes" in path or re.search(r"\bnode\b", full, re.IGNORECASE)
        what = "node" if about_node else "deployment"
        return NotFoundError(f"NeuraNET has no such {what}: “{text}”.", **common)
    if status in (400, 409, 422) and _NODE_UNAVAILABLE_RE.search(full):
        return ValidationError(
            f"NeuraNET: that node cannot take a deployment now: “{text}”. "
            "Pick another node (`/deploy nodes`).",
            field_errors={"node_id": text, **fields},
            **common,
        )
    if status == 409 or (status in (400, 422) and not fields and _WRONG_STATE_RE.search(full)):
        return WrongStateError(f"NeuraNET refused: “{text}”.", **common)
    if status in (400, 422):
        detail = "; ".join(f"{k}: {v}" for k, v in fields.items())
        suffix = f" ({detail})" if detail and detail not in text else ""
        return ValidationError(
            f"NeuraNET rejected the request: “{text}”{suffix}.", field_errors=fields, **common
        )
    return ProviderError(f"NeuraNET answered HTTP {status}: “{text}”.", **common)


def _request_of(response: httpx.Response) -> tuple[str, str]:
    try:
        request = response.request
    except RuntimeError:
        return "GET", ""
    return request.method.upper(), request.url.path
