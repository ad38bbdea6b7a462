"""The Akash Console's error answers as ProviderError kinds, quoting the server's text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from bot.providers import akash_sdl
from bot.providers.error_text import one_line
from bot.providers.errors import (
    AuthenticationError,
    InsufficientFundsError,
    NotFoundError,
    NotSupportedError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
    WrongStateError,
)
from bot.providers.http import parse_retry_after, response_text
from bot.providers.models import ProviderName


def field_errors_from_problems(problems: Sequence[akash_sdl.Problem]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for path, message in problems:
        key = "sdl" + ("." + akash_sdl.pointer_to_dotted(path) if path else "")
        errors[key] = f"{errors[key]}; {message}" if key in errors else message
    return errors


def clipped_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _zod_field_errors(issues: list[Any]) -> dict[str, str]:
    """Field path → message from a zod ``validation_error`` envelope's ``data`` issues."""
    field_errors: dict[str, str] = {}
    for issue in issues:
        if not isinstance(issue, dict):
            continue
        path = [str(p) for p in issue.get("path") or []]
        if path and path[0] == "data":
            path = path[1:]
        key = ".".join(path) or "request"
        message = clipped_line(str(issue.get("message") or "invalid"))
        field_errors[key] = f"{field_errors[key]}; {message}" if key in field_errors else message
    return field_errors


def _refusal(text: str, lower: str, quoted: str, kw: dict[str, Any]) -> ProviderError:
    """A 400 (or other 4xx) by the Console's wording (spec §2)."""
    if lower.startswith("invalid sdl"):
        detail = text.split(":", 1)[1].strip() if ":" in text else text
        return ValidationError(
            f"Akash Console refused the SDL ({quoted}); fix it and try again.",
            field_errors={"sdl": detail},
            **kw,
        )
    if "deployment closed" in lower or "account closed" in lower:
        return WrongStateError(
            f"The Akash deployment is already closed ({quoted}); create a new one.", **kw
        )
    if "no longer open" in lower or "bid not open" in lower:
        return WrongStateError(
            f"That bid can no longer be accepted ({quoted}); refresh the bids and pick "
            "an open one.",
            **kw,
        )
    if "order" in lower and ("not open" in lower or "matched or closed" in lower):
        return WrongStateError(
            f"That order is already leased or closed ({quoted}); refresh the deployment.",
            **kw,
        )
    if "cannot be settled" in lower:
        return WrongStateError(f"Akash escrow cannot be settled yet ({quoted}); retry later.", **kw)
    if "deposit too low" in lower or "deposit is required" in lower:
        return ValidationError(
            f"Akash refused the deposit ({quoted}); deposit at least 0.5 USD.",
            field_errors={"deposit": text},
            **kw,
        )
    if "trial expired" in lower:
        return InsufficientFundsError(
            f"Akash Console: {quoted}; add credits to keep deploying.", **kw
        )
    if "certificates are no longer required" in lower or "has been removed" in lower:
        return NotSupportedError(f"Akash Console no longer uses certificates ({quoted}).", **kw)
    if "credentials" in lower and "provider" in lower:
        return UnavailableError(
            f"The Akash provider refused the lease credentials ({quoted}); retry, and "
            "fetch a new certificate if it persists.",
            **kw,
        )
    if "content-type" in lower or "mutually exclusive" in lower or "malformed" in lower:
        return ValidationError(f"Akash Console refused the request ({quoted}).", **kw)
    return ValidationError(f"Akash Console refused the request ({quoted}).", **kw)


def map_error(response: httpx.Response, provider: ProviderName) -> ProviderError:
    """The Console's error shapes (spec §2) → the taxonomy, quoting the server's text."""
    status = response.status_code
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = None
    code = str(body.get("code") or "") if isinstance(body, dict) else ""
    issues = body.get("data") if isinstance(body, dict) else None
    # The whole text is matched; people see one short line (an HTML page: its title).
    full = response_text(response, limit=2000)
    text = one_line(full)
    lower = full.lower()
    quoted = f"“{text}”"
    kw: dict[str, Any] = {"provider": provider, "status_code": status, "provider_text": full}
    by_status = _status_error(response, code, lower, quoted, kw)
    if by_status is not None:
        return by_status
    if code == "validation_error" and isinstance(issues, list):
        field_errors = _zod_field_errors(issues)
        summary = "; ".join(f"{k}: {v}" for k, v in field_errors.items()) or text
        return ValidationError(
            f"Akash Console refused the request as invalid ({clipped_line(summary)}).",
            field_errors=field_errors,
            **kw,
        )
    return _refusal(text, lower, quoted, kw)


def _status_error(
    response: httpx.Response,
    code: str,
    lower: str,
    quoted: str,
    kw: dict[str, Any],
) -> ProviderError | None:
    """What the status alone decides (429, 401, 403, 404, 402, 409, 5xx); else None."""
    status = response.status_code
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimitedError(
            f"Akash Console is rate limiting requests ({quoted}); wait and try again.",
            retry_after=wait,
            **kw,
        )
    if status == 401:
        return AuthenticationError(
            f"Akash Console rejected the API key ({quoted}); check it in Console → "
            "API keys and connect it again.",
            **kw,
        )
    if status == 403:
        return AuthenticationError(
            f"Akash Console refused this for the key's account ({quoted}); check that its "
            "managed wallet is set up and the key may sign transactions.",
            **kw,
        )
    if status == 404:
        if "provider" in lower:
            return NotFoundError(f"Akash provider not found ({quoted}).", **kw)
        if "wallet" in lower:
            return NotFoundError(
                f"Akash Console has no wallet for this key's account ({quoted}); finish "
                "the account setup in Console, then connect the key again.",
                **kw,
            )
        return NotFoundError(
            f"Akash deployment not found ({quoted}); it may belong to another account.", **kw
        )
    if status == 402 or "insufficient funds" in lower or "not enough" in lower:
        return InsufficientFundsError(
            f"Akash Console: not enough funds ({quoted}); add credits in Console and retry.",
            **kw,
        )
    if status == 409:
        if code == "wallet_provisioning":
            return UnavailableError(
                f"Akash Console is still provisioning this account's wallet ({quoted}); "
                "this is temporary, retry in a minute.",
                **kw,
            )
        return WrongStateError(f"Akash Console reported a conflict ({quoted}).", **kw)
    if status >= 500:
        return UnavailableError(
            f"Akash Console is unavailable (HTTP {status}: {quoted}); try again shortly.",
            **kw,
        )
    return None
