"""Provider clients per workspace, built from the stored (encrypted) key and reused.

Each (workspace, provider) gets one pooled client while its key stays the same; the key is
read from the database on every use, so a key replaced on another replica is picked up at
once. Clients are bounded in number and closed when evicted.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from bot.config import Settings
from bot.db.keys import KeyStore
from bot.jobs.journal import journaled
from bot.providers import build_provider
from bot.providers.base import BaseProvider
from bot.providers.models import ProviderName
from bot.services.errors import NotConnectedError

log = logging.getLogger(__name__)

ProviderFactory = Callable[..., BaseProvider]
LABEL = {"nosana": "Nosana", "akash": "Akash", "neuranet": "NeuraNET"}


def _fingerprint(key: SecretStr) -> str:
    return hashlib.sha256(key.get_secret_value().encode()).hexdigest()


class ProviderPool:
    def __init__(
        self,
        settings: Settings,
        keys: KeyStore,
        *,
        factory: ProviderFactory = build_provider,
        # Above the number of (workspace, provider) keys the watcher polls, or clients (and the
        # market/node caches in them) would be rebuilt every cycle; they share one TLS context.
        max_clients: int = 4096,
        client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self._settings = settings
        self._keys = keys
        self._factory = factory
        self._max = max_clients
        self._kwargs = dict(client_kwargs or {})
        self._clients: OrderedDict[tuple[str, str, str], tuple[str, BaseProvider]] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()
        self._retired: set[BaseProvider] = set()

    def build(self, provider: ProviderName, key: SecretStr) -> BaseProvider:
        """A fresh client for ``key`` (used to verify a key before it is stored)."""
        return self._factory(provider, key, self._settings, **self._kwargs)

    async def get(
        self, team_id: str, provider: ProviderName, enterprise_id: str | None = None
    ) -> BaseProvider:
        key = await self._keys.get(team_id=team_id, provider=provider, enterprise_id=enterprise_id)
        if key is None:
            raise NotConnectedError(
                f"No {LABEL[provider]} account is connected to this workspace: an admin can "
                f"run `/deploy connect {provider}`."
            )
        slot = (enterprise_id or "", team_id, provider)
        fingerprint = _fingerprint(key)
        cached = self._clients.get(slot)
        if cached is not None and cached[0] == fingerprint:
            self._clients.move_to_end(slot)
            return journaled(cached[1])
        client = self.build(provider, key)
        if cached is not None:
            self._close_later(cached[1])
        self._clients[slot] = (fingerprint, client)
        while len(self._clients) > self._max:
            _, (_, old) = self._clients.popitem(last=False)
            self._close_later(old)
        return journaled(client)

    def forget(self, team_id: str, enterprise_id: str | None = None) -> None:
        """Drop the workspace's clients (after a disconnect or an uninstall)."""
        for slot in [s for s in self._clients if s[:2] == (enterprise_id or "", team_id)]:
            self._close_later(self._clients.pop(slot)[1])

    def _close_later(self, client: BaseProvider, delay: float = 30.0) -> None:
        """Close a replaced client once calls already running on it have had time to end."""

        self._retired.add(client)

        async def close() -> None:
            await asyncio.sleep(delay)
            self._retired.discard(client)
            await client.aclose()

        try:
            task = asyncio.get_running_loop().create_task(close())
        except RuntimeError:  # no loop: nothing can be using it
            return
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        for task in list(self._closing):
            task.cancel()
        clients = [c for _, c in self._clients.values()] + list(self._retired)
        self._clients.clear()
        self._retired.clear()
        for client in clients:
            try:
                await client.aclose()
            except Exception:  # pragma: no cover - best effort at shutdown
                log.debug("closing a provider client failed", exc_info=True)
