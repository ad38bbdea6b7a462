"""Who holds an Akash lease, by name: the provider's public name and host on the card.

Provider facts are public and change rarely: they are kept for an hour, for every workspace.
A lookup that fails leaves the card with the shortened address (it never fails the read).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from bot.providers.base import BaseProvider
from bot.providers.errors import ProviderError
from bot.providers.models import Deployment

TTL_SECONDS = 3600.0
MAX_KEPT = 512
#: At most this many providers are looked up for one card.
MAX_LOOKUPS = 3

_known: OrderedDict[str, tuple[float, str | None, str | None]] = OrderedDict()


async def with_lease_names(client: BaseProvider, deployment: Deployment) -> Deployment:
    """``deployment`` with ``provider_name`` and ``provider_host`` on its active leases."""
    leases = deployment.extras.get("leases")
    if client.name != "akash" or not isinstance(leases, list):
        return deployment
    wanted = [
        str(lease["provider"])
        for lease in leases
        if isinstance(lease, dict) and lease.get("state") == "active" and lease.get("provider")
    ]
    names = {a: await _lookup(client, a) for a in list(dict.fromkeys(wanted))[:MAX_LOOKUPS]}
    named: list[Any] = []
    for lease in leases:
        found = names.get(str(lease.get("provider"))) if isinstance(lease, dict) else None
        if found is None:
            named.append(lease)
        else:
            named.append({**lease, "provider_name": found[0], "provider_host": found[1]})
    return deployment.model_copy(update={"extras": {**deployment.extras, "leases": named}})


async def _lookup(client: BaseProvider, address: str) -> tuple[str | None, str | None] | None:
    now = time.monotonic()
    kept = _known.get(address)
    if kept is not None and now - kept[0] < TTL_SECONDS:
        return kept[1], kept[2]
    try:
        info = await client.provider_info(address)
    except ProviderError:
        return None
    _known[address] = (now, info.name, info.host_uri)
    _known.move_to_end(address)
    while len(_known) > MAX_KEPT:
        _known.popitem(last=False)
    return info.name, info.host_uri
