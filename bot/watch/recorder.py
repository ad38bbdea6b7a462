"""Who made a change: the deployment service records each change it carries out, so the
watcher can credit the transition that follows to that person (bot/watch/attribution.py)."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.operations import Operation
from bot.db.watch.store import WatchStore
from bot.providers.models import ProviderName
from bot.services.deployments import Actor
from bot.watch.attribution import effect_of, encode_effect


class ChangeRecorder:
    def __init__(self, store: WatchStore) -> None:
        self.store = store
        #: This process's watcher, woken after the key is made due (set when it is built):
        #: it claims the key now rather than at its next look for due keys.
        self.on_poll_soon: Callable[[], None] | None = None

    async def record_change(
        self, actor: Actor, op: Operation, provider: ProviderName, deployment_id: str
    ) -> None:
        await self.store.record_attribution(
            team_id=actor.team_id,
            enterprise_id=actor.enterprise_id,
            provider=provider,
            deployment_id=deployment_id,
            user_id=actor.user_id,
            via=f"/deploy {op.kind.value}",
            summary=op.describe(),
            op_kind=op.kind.value,
            expects=encode_effect(effect_of(op)),
        )
        # Poll that key at the next tick, so the channel hears of it at once.
        await self.store.poll_soon(actor.team_id, actor.enterprise_id, provider)
        if self.on_poll_soon is not None:
            self.on_poll_soon()
