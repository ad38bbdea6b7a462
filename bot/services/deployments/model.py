"""The shapes the deployment service speaks in: who asks, a resolved deployment, a revision form."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.core.operations import Operation
from bot.core.results import ChainRun
from bot.providers.base import BaseProvider
from bot.providers.models import Deployment, ProviderName


@dataclass(frozen=True)
class Actor:
    """Who asks, from where."""

    team_id: str
    user_id: str
    enterprise_id: str | None = None
    channel_id: str | None = None


@dataclass
class Resolved:
    provider: BaseProvider
    deployment: Deployment


@dataclass
class RevisionForm:
    provider: ProviderName
    deployment: Deployment
    text: str
    language: str


Progress = Callable[[ChainRun], Awaitable[None]]


class ChangeRecorder(Protocol):
    """Told about every change deploybot makes to a deployment (after it succeeded), so the
    watcher can credit the person in the channel ("by @ana via /deploy stop")."""

    async def record_change(
        self, actor: Actor, op: Operation, provider: ProviderName, deployment_id: str
    ) -> None: ...
