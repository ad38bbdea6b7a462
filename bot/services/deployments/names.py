"""Which deployments carry a name: for looking things up by what people call them (the audit
log keeps deployment ids, people remember names)."""

from __future__ import annotations

import asyncio
import logging

from bot.providers.errors import ProviderError
from bot.providers.models import ProviderName
from bot.services.deployments.accounts import Accounts
from bot.services.deployments.model import Actor
from bot.services.errors import ServiceError

log = logging.getLogger(__name__)

#: How long each provider may take to list its deployments for a name look-up.
NAME_BUDGET = 5.0


async def ids_named(
    accounts: Accounts, actor: Actor, name: str, *, budget: float = NAME_BUDGET
) -> list[str]:
    """The ids of every deployment named ``name`` (exactly, else ignoring case) on the
    connected providers; a provider that fails or is slow is left out (logged)."""
    wanted = name.strip()
    if not wanted:
        return []

    async def named(provider: ProviderName) -> list[tuple[str, str]]:
        try:
            client = await accounts.client(actor, provider)
            listed = await asyncio.wait_for(client.list_deployments(), budget)
        except (ProviderError, ServiceError, TimeoutError) as exc:
            log.info("name look-up skipped %s: %s", provider, exc)
            return []
        return [(d.id, d.name or "") for d in listed]

    providers = await accounts.connected_names(actor)
    found = [pair for pairs in await asyncio.gather(*map(named, providers)) for pair in pairs]
    exact = [i for i, n in found if n == wanted]
    return exact or [i for i, n in found if n.casefold() == wanted.casefold()]


__all__ = ["NAME_BUDGET", "ids_named"]
