"""The error taxonomy every provider maps its failures onto.

Each error carries a one-line ``message`` a person can act on. Messages are built from
provider answers, never from request headers, so an API key cannot end up in one; the
HTTP layer additionally scrubs the key from any provider text it quotes.
"""

from __future__ import annotations

from typing import ClassVar


class ProviderError(Exception):
    """Base class: something a provider call could not do."""

    kind: ClassVar[str] = "error"
    #: What the person should do next, appended to the message when not already there
    #: (a class default; an error may carry its own, e.g. what to check).
    advice: str = ""

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status_code: int | None = None,
        provider_text: str | None = None,
    ) -> None:
        self.provider = provider
        self.status_code = status_code
        #: The provider's own wording (already scrubbed of secrets), shown verbatim.
        self.provider_text = provider_text
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, message={self.message!r})"


class AuthenticationError(ProviderError):
    kind = "auth"
    advice = "Check the API key (it may be wrong, revoked or expired) and connect it again."


class NotFoundError(ProviderError):
    kind = "not_found"
    advice = "Check the id; `/deploy list` shows what exists."


class WrongStateError(ProviderError):
    kind = "wrong_state"
    advice = "Check the deployment's status first; it cannot do that right now."


class ValidationError(ProviderError):
    """The request was refused as invalid; ``field_errors`` maps a field path to its message."""

    kind = "validation"
    advice = "Fix the input and try again."

    def __init__(
        self,
        message: str,
        *,
        field_errors: dict[str, str] | None = None,
        provider: str = "",
        status_code: int | None = None,
        provider_text: str | None = None,
    ) -> None:
        super().__init__(
            message, provider=provider, status_code=status_code, provider_text=provider_text
        )
        self.field_errors: dict[str, str] = dict(field_errors or {})


class InsufficientFundsError(ProviderError):
    kind = "insufficient_funds"
    advice = "Add credits or funds to the provider account, then try again."


class RateLimitedError(ProviderError):
    kind = "rate_limited"
    advice = "The provider is throttling requests; wait a moment and try again."

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class UnavailableError(ProviderError):
    kind = "unavailable"
    advice = "The provider is not answering properly; try again in a few minutes."


class NotSupportedError(ProviderError):
    """The provider has no such operation (a capability it does not declare)."""

    kind = "not_supported"
    advice = ""


class OutcomeUnknownError(UnavailableError):
    """A non-idempotent call failed after it may have reached the provider.

    It is never re-sent automatically: the caller must look before trying again.
    """

    kind = "outcome_unknown"
    advice = "It may or may not have happened — check `/deploy list` before trying again."

    def __init__(
        self,
        message: str,
        *,
        check: str | None = None,
        provider: str = "",
        status_code: int | None = None,
        provider_text: str | None = None,
    ) -> None:
        super().__init__(
            message, provider=provider, status_code=status_code, provider_text=provider_text
        )
        if check:
            #: What to look at before trying again (e.g. "`/deploy show 123`").
            self.advice = outcome_unknown_advice(check)


def outcome_unknown_advice(check: str) -> str:
    """The sentence that tells a person what to look at before trying again."""
    return f"It may or may not have happened — check {check} before trying again."


__all__ = [
    "AuthenticationError",
    "InsufficientFundsError",
    "NotFoundError",
    "NotSupportedError",
    "OutcomeUnknownError",
    "ProviderError",
    "RateLimitedError",
    "UnavailableError",
    "ValidationError",
    "WrongStateError",
    "outcome_unknown_advice",
]
