"""One pooled ``httpx.AsyncClient`` per provider, with explicit timeouts and a retry policy.

Retry policy:

* Idempotent calls (GET by default, or any call marked ``idempotent=True``) are retried with
  bounded exponential backoff on 429 (honouring ``Retry-After``), 5xx and transport errors.
* Non-idempotent calls (create, deposit, start …) are retried only when the provider
  provably did not process them: a 429 answer, or a connection that was never established.
  A timeout or a 5xx after sending raises :class:`OutcomeUnknownError` and is never re-sent.
* An answer that arrives but cannot be read (malformed JSON, an empty body, a 2xx other than
  the expected one, or one without the expected envelope, see :meth:`ProviderHTTP.garbled`)
  is, for a non-idempotent call, :class:`OutcomeUnknownError` too: the provider may well have
  done the work, so deploybot says what to check instead of "try again".

The API key is sent only in headers; any provider text quoted in an error is scrubbed of it.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import certifi
import httpx
from pydantic import SecretStr

from bot.providers.error_text import MAX_CHARS, summarize_body
from bot.providers.errors import (
    OutcomeUnknownError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
    outcome_unknown_advice,
)

log = logging.getLogger(__name__)


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context (certifi's CA bundle, as httpx's default) for every provider client:
    building one takes ~20 ms of CPU and about a megabyte, and there is a client per workspace
    and provider (the watcher polls thousands)."""
    return ssl.create_default_context(cafile=certifi.where())


#: Called after every provider call with (provider, seconds, error class name or None):
#: ``bot.metrics`` registers one for latency and error counts.
CALL_OBSERVERS: list[Callable[[str, float, str | None], None]] = []

ErrorMapper = Callable[[httpx.Response], ProviderError]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    #: A Retry-After longer than this is not waited for; the call fails as rate limited.
    max_retry_after: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the given (1-based) failed attempt."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(cap / 2, cap)


DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=10.0, pool=5.0)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Set on every returned response: whether the call that got it was safe to repeat.
SAFE_TO_REPEAT = "deploybot.safe_to_repeat"
#: What to look at after a garbled answer when the client does not say more.
DEFAULT_CHECK = "`/deploy list`"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def response_text(response: httpx.Response, limit: int = MAX_CHARS) -> str:
    """The provider's error text as one line: the message of a JSON envelope, the ``<title>``
    of an HTML page (or the status phrase), plain text collapsed; cut at a word boundary."""
    return summarize_body(
        response.text,
        status=response.status_code,
        content_type=response.headers.get("content-type", ""),
        limit=limit,
    )


class ProviderHTTP:
    """A provider's connection pool plus the retry policy and error mapping."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        label: str = "",
        auth_headers: Mapping[str, SecretStr],
        error_mapper: ErrorMapper,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        secrets: tuple[SecretStr, ...] = (),
    ) -> None:
        self.provider = provider
        #: The provider's name for people ("NeuraNET"), used in the texts it builds.
        self.label = label or provider
        self._auth_headers = dict(auth_headers)
        # Scrub the bare secrets as well as the header values that carry them ("Bearer …"),
        # longest first so a header value is replaced whole before the key inside it.
        values = {v.get_secret_value() for v in (*auth_headers.values(), *secrets)}
        self._secrets = sorted((v for v in values if v), key=len, reverse=True)
        self._map_error = error_mapper
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "deploybot/0.1"},
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
            verify=shared_ssl_context(),
        )
        #: Calls actually sent over the wire (retries included), for metrics and tests.
        self.calls_sent = 0

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def __repr__(self) -> str:
        return f"ProviderHTTP(provider={self.provider!r}, base_url={self.base_url!r})"

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "[redacted]")
        return text

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        timeout: httpx.Timeout | float | None = None,
        expected: tuple[int, ...] = (200, 201, 202, 204),
        check: str | None = None,
    ) -> httpx.Response:
        """Send one call (with retries per policy); return the response or raise a ProviderError.

        ``check`` says what a person should look at if a non-idempotent call gets an answer
        that cannot be read (see :meth:`garbled`).
        """
        started = time.perf_counter()
        error: str | None = None
        try:
            return await self._request(
                method,
                path,
                params=params,
                json=json,
                idempotent=idempotent,
                timeout=timeout,
                expected=expected,
                check=check,
            )
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            elapsed = time.perf_counter() - started
            for observe in CALL_OBSERVERS:
                try:
                    observe(self.provider, elapsed, error)
                except Exception:  # pragma: no cover - metrics must never break a call
                    log.debug("a provider call observer failed", exc_info=True)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        idempotent: bool | None,
        timeout: httpx.Timeout | float | None,
        expected: tuple[int, ...],
        check: str | None,
    ) -> httpx.Response:
        method = method.upper()
        safe_to_repeat = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        headers = {k: v.get_secret_value() for k, v in self._auth_headers.items()}
        extra: dict[str, Any] = {}
        if timeout is not None:
            extra["timeout"] = timeout
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self.retry.max_attempts
            started = time.perf_counter()
            try:
                self.calls_sent += 1
                response = await self._client.request(
                    method, path, params=params, json=json, headers=headers, **extra
                )
            except httpx.ConnectError as exc:
                # The connection was never made: nothing reached the provider.
                if last:
                    raise UnavailableError(
                        f"Could not connect to {self.label} ({type(exc).__name__}).",
                        provider=self.provider,
                    ) from None
                await self._sleep(self.retry.backoff(attempt))
                continue
            except httpx.TransportError as exc:
                if not safe_to_repeat:
                    raise OutcomeUnknownError(
                        f"{self.label} did not answer in time ({type(exc).__name__}); "
                        "the request may have been carried out.",
                        check=check,
                        provider=self.provider,
                    ) from None
                if last:
                    raise UnavailableError(
                        f"{self.label} did not answer ({type(exc).__name__}).",
                        provider=self.provider,
                    ) from None
                await self._sleep(self.retry.backoff(attempt))
                continue
            log.debug(
                "%s %s %s -> %s in %.0f ms",
                self.provider,
                method,
                path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
            if self._succeeded(response, expected, safe_to_repeat=safe_to_repeat, check=check):
                return response
            if response.status_code == 429:
                wait = parse_retry_after(response.headers.get("Retry-After"))
                if last or (wait is not None and wait > self.retry.max_retry_after):
                    raise RateLimitedError(
                        f"{self.label} is rate limiting requests"
                        + (f"; retry after {wait:.0f} s." if wait is not None else "."),
                        retry_after=wait,
                        provider=self.provider,
                        status_code=429,
                    )
                await self._sleep(wait if wait is not None else self.retry.backoff(attempt))
                continue
            if response.status_code >= 500:
                error = self._mapped(response)
                # Some providers answer business errors with 500 (Nosana's wrong state):
                # only what maps to "unavailable" is a server failure.
                if not isinstance(error, UnavailableError):
                    raise error
                if not safe_to_repeat:
                    raise OutcomeUnknownError(
                        f"{error.message} The request may or may not have been carried out.",
                        check=check,
                        provider=self.provider,
                        status_code=response.status_code,
                        provider_text=error.provider_text,
                    )
                if not last:
                    await self._sleep(self.retry.backoff(attempt))
                    continue
                raise error
            raise self._mapped(response)

    def _succeeded(
        self,
        response: httpx.Response,
        expected: tuple[int, ...],
        *,
        safe_to_repeat: bool,
        check: str | None,
    ) -> bool:
        """True for an expected answer; a 2xx that is not one is garbled (raises); else False."""
        response.extensions[SAFE_TO_REPEAT] = safe_to_repeat
        if response.status_code in expected:
            return True
        if 200 <= response.status_code < 300:
            detail = f"HTTP {response.status_code} instead of {expected[0]}"
            raise self.garbled(response, detail, check=check)
        return False

    def _mapped(self, response: httpx.Response) -> ProviderError:
        error = self._map_error(response)
        error.provider = error.provider or self.provider
        error.status_code = error.status_code or response.status_code
        error.message = self.scrub(error.message)
        if error.provider_text:
            error.provider_text = self.scrub(error.provider_text)
        error.args = (error.message,)
        return error

    async def get_json(self, path: str, **kwargs: Any) -> Any:
        response = await self.request("GET", path, **kwargs)
        return self.json(response)

    def json(self, response: httpx.Response, *, check: str | None = None) -> Any:
        """The answer's JSON (None for a 204). Malformed JSON or an empty body is a garbled
        answer (:meth:`garbled`); ``check`` says what to look at if the call was not idempotent.
        """
        if response.status_code == 204:
            return None
        if not response.content.strip():
            raise self.garbled(response, "an empty answer", check=check)
        try:
            return response.json()
        except ValueError:
            raise self.garbled(response, "not JSON", check=check) from None

    def garbled(
        self, response: httpx.Response, detail: str, *, check: str | None = None
    ) -> UnavailableError:
        """The error for an answer that arrived but cannot be read (``detail`` says how).

        After a call that was not safe to repeat, the work may well have been done:
        :class:`OutcomeUnknownError` naming what to ``check`` before trying again (never
        re-sent). After a safe call: :class:`UnavailableError` (trying again is harmless).
        """
        request = response.request
        safe = response.extensions.get(SAFE_TO_REPEAT, request.method in IDEMPOTENT_METHODS)
        what = f"{request.method} {request.url.path}"
        if safe:
            return UnavailableError(
                self.scrub(
                    f"{self.label} sent an answer to {what} that cannot be read ({detail})."
                ),
                provider=self.provider,
                status_code=response.status_code,
            )
        check = check or DEFAULT_CHECK
        return OutcomeUnknownError(
            self.scrub(
                f"{self.label} received {what} but its answer cannot be read ({detail}). "
                + outcome_unknown_advice(check)
            ),
            check=check,
            provider=self.provider,
            status_code=response.status_code,
        )
