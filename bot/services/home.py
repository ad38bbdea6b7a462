"""Gathers what App Home shows (see ``bot/core/home.py`` for how it reads).

The seam for other features: ``build_home(..., extra_sections=[...])`` places their blocks
(e.g. the approvals waiting for the person) between the running deployments and the recent
actions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from bot.core.home import RecentAction, home_view
from bot.core.render import PROVIDER_LABEL
from bot.db.watch.store import WatchStore
from bot.providers.errors import ProviderError
from bot.providers.models import Deployment
from bot.services.deployments import Actor, DeploymentService
from bot.services.errors import ServiceError

log = logging.getLogger(__name__)

#: How long Home waits for each provider's list of running deployments.
PROVIDER_BUDGET = 5.0
#: The page of the approvals section the Home being built shows (its Previous / Next buttons
#: set it for the one publish they cause; opening Home shows page 1).
APPROVALS_PAGE: ContextVar[int] = ContextVar("approvals_page", default=1)


async def build_home(
    service: DeploymentService,
    store: WatchStore | None,
    actor: Actor,
    *,
    extra_sections: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The Home view for ``actor`` (providers are asked in parallel, each bounded)."""
    connected = [
        (r.provider, r.key_hint)
        for r in await service.connected(actor)
        if r.provider in PROVIDER_LABEL
    ]
    notes: list[str] = []

    async def running(provider: str) -> list[Deployment]:
        try:
            client = await service.client(actor, provider)  # type: ignore[arg-type]
            return await asyncio.wait_for(
                client.list_deployments(status="running"), PROVIDER_BUDGET
            )
        except (ProviderError, ServiceError) as exc:
            notes.append(f"{PROVIDER_LABEL[provider]}: {exc.message}")
        except TimeoutError:
            notes.append(f"{PROVIDER_LABEL[provider]} took too long to answer.")
        return []

    lists = await asyncio.gather(*(running(p) for p, _ in connected))
    deployments = [d for items in lists for d in items]
    recent: list[RecentAction] = []
    if store is not None:
        for provider, _dep, summary, at in await store.recent_actions(
            team_id=actor.team_id, enterprise_id=actor.enterprise_id, user_id=actor.user_id
        ):
            recent.append(RecentAction(summary, provider, datetime.fromtimestamp(at, UTC)))
    return home_view(
        connected=connected,
        running=deployments,
        recent=recent,
        now=service.clock(),
        notes=notes,
        extra_sections=extra_sections,
    )
