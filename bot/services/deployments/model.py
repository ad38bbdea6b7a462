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

    def as_json(self) -> dict[str, str]:
        """For a job's payload (:meth:`from_json` reads it back)."""
        found = {"team": self.team_id, "user": self.user_id}
        if self.enterprise_id:
            found["enterprise"] = self.enterprise_id
        if self.channel_id:
            found["channel"] = self.channel_id
        return found

    @classmethod
    def from_json(cls, data: object) -> Actor:
        got = data if isinstance(data, dict) else {}
        return cls(
            team_id=str(got.get("team") or ""),
            user_id=str(got.get("user") or ""),
            enterprise_id=str(got["enterprise"]) if got.get("enterprise") else None,
            channel_id=str(got["channel"]) if got.get("channel") else None,
        )


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
