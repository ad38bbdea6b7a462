"""What the governance and audit services need to know about a person, as small callables.

The policy gate owns who someone is (``Gate.person``) and whether they may run an admin-only
command (``Gate.authorize``); the app factory hands these in, so the services never hold the
gate itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Protocol

from bot.core.policy import Role, WorkspacePolicy
from bot.db.access import Grant
from bot.services.deployments import Actor
from bot.services.slack_io import SlackIO


class Authorize(Protocol):
    """Raise :class:`bot.services.errors.NotPermittedError` unless the actor is an admin."""

    def __call__(
        self, actor: Actor, kind: str, slack: SlackIO, *, what: str
    ) -> Awaitable[None]: ...


class RoleOf(Protocol):
    """The actor's effective role, given the workspace's policy and grants."""

    def __call__(
        self, actor: Actor, slack: SlackIO, policy: WorkspacePolicy, grants: Sequence[Grant]
    ) -> Awaitable[Role]: ...


__all__ = ["Authorize", "RoleOf"]
