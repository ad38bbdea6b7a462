"""Errors the services raise for people (provider failures use ``bot.providers.errors``)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.providers.models import Deployment


class ServiceError(Exception):
    """Something the person can fix; ``message`` is one line that says what to do.

    ``mrkdwn`` marks a message deploybot composed from safe parts (ids, its own words), whose
    mentions and channel links must reach Slack as markup rather than escaped.
    """

    def __init__(self, message: str, *, mrkdwn: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.mrkdwn = mrkdwn

    def __str__(self) -> str:
        return self.message


class NotConnectedError(ServiceError):
    """No provider key is stored for this workspace (or not for the provider asked for)."""


class NoMatchError(ServiceError):
    """No deployment matches the reference."""


class AmbiguousError(ServiceError):
    """Several deployments match; ``candidates`` lists them so the person can pick."""

    def __init__(self, message: str, ref: str, candidates: Sequence[Deployment]) -> None:
        super().__init__(message)
        self.ref = ref
        self.candidates = list(candidates)


class NotPermittedError(ServiceError):
    """The person may not do this (e.g. connecting a key without being a workspace admin)."""


class UnsupportedError(ServiceError):
    """The provider cannot do this at all, or not in the deployment's current state."""
