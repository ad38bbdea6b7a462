"""Provider accounts of a workspace: which are connected, connecting and disconnecting keys,
and the client for one of them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import SecretStr

from bot.core import results
from bot.core.replies import ConnectedProvider
from bot.db.keys import KeyStore, StoredKeyInfo
from bot.providers.base import BaseProvider
from bot.providers.models import PROVIDER_NAMES, ProviderName
from bot.services.deployments.model import Actor
from bot.services.pool import ProviderPool


def utc_now() -> datetime:
    return datetime.now(UTC)


class Accounts:
    """The stored keys and the pool of provider clients built from them."""

    def __init__(
        self, keys: KeyStore, pool: ProviderPool, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.keys = keys
        self.pool = pool
        self.clock = clock

    async def connected(self, actor: Actor) -> list[StoredKeyInfo]:
        rows = await self.keys.list(team_id=actor.team_id)
        return [r for r in rows if r.enterprise_id == (actor.enterprise_id or "")]

    async def connected_names(self, actor: Actor) -> list[ProviderName]:
        names = {r.provider for r in await self.connected(actor)}
        return [p for p in PROVIDER_NAMES if p in names]

    async def providers(self, actor: Actor) -> results.Providers:
        rows = await self.connected(actor)
        return results.Providers(
            [
                ConnectedProvider(
                    provider=r.provider,
                    key_hint=r.key_hint,
                    connected_by=r.connected_by,
                    connected_at=r.connected_at,
                    last_verified_at=r.last_verified_at,
                )
                for r in rows
                if r.provider in PROVIDER_NAMES
            ]
        )

    async def verify_key(self, provider: ProviderName, key: SecretStr) -> None:
        """A cheap authenticated call with ``key``; raises a ProviderError when it fails."""
        client = self.pool.build(provider, key)
        try:
            await client.verify()
        finally:
            await client.aclose()

    async def connect(
        self, actor: Actor, provider: ProviderName, key: SecretStr, *, verified: bool = True
    ) -> StoredKeyInfo:
        info = await self.keys.put(
            team_id=actor.team_id,
            enterprise_id=actor.enterprise_id,
            provider=provider,
            api_key=key,
            connected_by=actor.user_id,
            verified=verified,
        )
        return info

    async def disconnect(self, actor: Actor, provider: ProviderName) -> bool:
        removed = await self.keys.remove(
            team_id=actor.team_id, enterprise_id=actor.enterprise_id, provider=provider
        )
        self.pool.forget(actor.team_id, actor.enterprise_id)
        return removed > 0

    async def forget_workspace(self, team_id: str, enterprise_id: str | None) -> int:
        """Delete everything deploybot stores for a workspace (after an uninstall)."""
        removed = await self.keys.remove(team_id=team_id, enterprise_id=enterprise_id)
        self.pool.forget(team_id, enterprise_id)
        return removed

    async def client(self, actor: Actor, provider: ProviderName) -> BaseProvider:
        return await self.pool.get(actor.team_id, provider, actor.enterprise_id)
