"""Which deployments a name means (for `/deploy audit <name>`): every connected provider is
asked; one that fails or is slow is left out, the others still answer."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.providers.errors import ProviderError
from bot.providers.models import Deployment, DeploymentStatus
from bot.services.deployments.model import Actor
from bot.services.deployments.names import ids_named
from bot.services.errors import ServiceError

ACTOR = Actor(team_id="T1", user_id="U1")


def dep(provider: str, id_: str, name: str) -> Deployment:
    return Deployment(
        provider=provider,  # type: ignore[arg-type]
        id=id_,
        name=name,
        status=DeploymentStatus.RUNNING,
        raw_status="running",
    )


class Client:
    def __init__(self, name: str, answer: Any) -> None:
        self.name = name
        self.answer = answer

    async def list_deployments(self) -> list[Deployment]:
        if isinstance(self.answer, BaseException):
            raise self.answer
        if self.answer == "slow":
            await asyncio.sleep(10)
        return list(self.answer)


class Accounts:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    async def connected_names(self, actor: Actor) -> list[str]:
        return list(self.answers)

    async def client(self, actor: Actor, provider: str) -> Client:
        answer = self.answers[provider]
        if isinstance(answer, ServiceError):
            raise answer
        return Client(provider, answer)


async def test_exact_names_first_then_ignoring_case() -> None:
    accounts = Accounts(
        {
            "nosana": [dep("nosana", "n1", "llama"), dep("nosana", "n2", "Llama")],
            "akash": [dep("akash", "a1", "LLAMA"), dep("akash", "a2", "other")],
        }
    )
    assert await ids_named(accounts, ACTOR, "llama") == ["n1"]  # type: ignore[arg-type]
    assert await ids_named(accounts, ACTOR, "LLAMa") == ["n1", "n2", "a1"]  # type: ignore[arg-type]
    assert await ids_named(accounts, ACTOR, "  ") == []  # type: ignore[arg-type]
    assert await ids_named(accounts, ACTOR, "nothing") == []  # type: ignore[arg-type]


async def test_a_failing_or_slow_provider_is_left_out() -> None:
    accounts = Accounts(
        {
            "nosana": ProviderError("down", provider="nosana"),
            "akash": "slow",
            "neuranet": [dep("neuranet", "x1", "llama")],
            "broken": ServiceError("key unreadable"),
        }
    )
    found = await ids_named(accounts, ACTOR, "llama", budget=0.05)  # type: ignore[arg-type]
    assert found == ["x1"]
