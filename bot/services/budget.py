"""Budgets: ``/deploy budget`` (show, set, clear), the budget facts preflight judges, and what
the watcher does after each poll (record the burn, fire the 80 % / 100 % alerts once)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from bot.core import replies
from bot.core.arguments import Budget
from bot.core.budget import (
    BudgetFacts,
    BudgetView,
    Caps,
    Period,
    Scope,
    alert_text,
    period_key,
    period_start,
    reached,
)
from bot.core.operations import Operation
from bot.core.preflight_money import usd
from bot.core.render import PROVIDER_LABEL
from bot.core.replies import Reply
from bot.db.budget_store import BudgetStore, Burn
from bot.db.watch.store import PollKey, WatchStore
from bot.services.audit_trail import AuditTrail
from bot.services.deployments import Actor, DeploymentService
from bot.services.people import People
from bot.services.slack_io import SlackIO
from bot.watch.diff import channels_for

log = logging.getLogger(__name__)

#: A key's burn is compared with its last sample after every poll that changed a state, and
#: at least this often (seconds) otherwise (a replica that died between writing the states and
#: the sample); a sample is written only when the burn moved.
SAMPLE_EVERY = 600.0
#: Samples are kept this long (seconds); each key's newest one always stays.
KEEP_SAMPLES = 62 * 86400.0

Clock = Callable[[], float]
_ADJECTIVE = {"hour": "hourly", "day": "daily", "month": "monthly"}


class BudgetService:
    def __init__(
        self,
        store: BudgetStore,
        watch_store: WatchStore,
        deployments: DeploymentService,
        people: People,
        trail: AuditTrail,
        *,
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self.watch_store = watch_store
        self.deployments = deployments
        self.people = people
        self.trail = trail
        self.clock = clock
        #: When this replica last sampled each key's burn.
        self._sampled: dict[tuple[str, str, str], float] = {}

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- what the budget is now ------------------------------------------------------------

    async def scopes(self, team_id: str, enterprise_id: str | None) -> tuple[list[Scope], Scope]:
        """Each provider's scope (with a cap, a burn or a history) and the workspace's."""
        now = self._now()
        caps = await self.store.caps(team_id, enterprise_id)
        starts = [
            period_start(Period.DAY, now).timestamp(),
            period_start(Period.MONTH, now).timestamp(),
        ]
        spent = await self.store.spend(team_id, enterprise_id, starts, now.timestamp())
        burns = await self.store.burn_now(team_id, enterprise_id)
        providers = sorted((set(caps) - {""}) | set(spent) | set(burns))
        nothing = [Decimal(0), Decimal(0)]
        scopes = [
            Scope(
                provider=p,
                caps=caps.get(p, Caps()),
                burn=burns.get(p, Burn(Decimal(0))).per_hour,
                today=spent.get(p, nothing)[0],
                month=spent.get(p, nothing)[1],
                unknown=burns.get(p, Burn(Decimal(0))).unknown,
            )
            for p in providers
        ]
        workspace = Scope(
            provider="",
            caps=caps.get("", Caps()),
            burn=sum((s.burn for s in scopes), Decimal(0)),
            today=sum((s.today for s in scopes), Decimal(0)),
            month=sum((s.month for s in scopes), Decimal(0)),
            unknown=sum(s.unknown for s in scopes),
        )
        return scopes, workspace

    async def facts(
        self, team_id: str, enterprise_id: str | None, provider: str
    ) -> BudgetFacts | None:
        """The provider's scope and the workspace's, when either has a cap (None: no caps)."""
        caps = await self.store.caps(team_id, enterprise_id)
        if not any(c.any for p, c in caps.items() if p in ("", provider)):
            return None
        scopes, workspace = await self.scopes(team_id, enterprise_id)
        mine = next((s for s in scopes if s.provider == provider), None)
        if mine is None:
            mine = Scope(provider, caps.get(provider, Caps()), Decimal(0), Decimal(0), Decimal(0))
        chosen = tuple(s for s in (mine, workspace) if s.caps.any)
        return BudgetFacts(now=self._now(), scopes=chosen)

    async def view(self, actor: Actor) -> BudgetView:
        scopes, workspace = await self.scopes(actor.team_id, actor.enterprise_id)
        connected = await self.deployments.connected_names(actor)
        shown = {s.provider for s in scopes}
        untracked = tuple(p for p in connected if p not in shown)
        now = self._now()
        keys = (period_key(Period.DAY, now), period_key(Period.MONTH, now))
        fired = await self.store.fired(actor.team_id, actor.enterprise_id, keys)
        alerts = tuple(
            f"{PROVIDER_LABEL.get(p, p) if p else 'workspace'} {level}% of the "
            f"{_ADJECTIVE.get(cap, cap)} cap"
            for p, _, cap, level in fired
        )
        return BudgetView(scopes=(*scopes, workspace), now=now, untracked=untracked, alerts=alerts)

    # -- commands --------------------------------------------------------------------------

    async def run(self, actor: Actor, op: Operation, slack: SlackIO) -> BudgetView | Reply:
        args = op.args
        assert isinstance(args, Budget)
        if args.action == "show":
            return await self.view(actor)
        what = "set budget caps" if args.action == "set" else "clear budget caps"
        await self.people.authorize(actor, "budget", slack, what=what)
        scope = op.provider or ""
        label = PROVIDER_LABEL.get(scope, scope) if scope else "the workspace"
        if args.action == "set":
            assert args.amount_usd is not None and args.period is not None
            period = Period(args.period)
            await self.store.set_cap(
                actor.team_id,
                actor.enterprise_id,
                scope,
                period,
                args.amount_usd,
                user_id=actor.user_id,
            )
            cap = usd(args.amount_usd, period.suffix)
            await self.trail.record(
                actor,
                "budget.set",
                "allow",
                "ok",
                provider=scope or None,
                params={"period": period.value, "amount_usd": str(args.amount_usd)},
            )
            # The watcher records the burn of every key with a cap, watched or not.
            await self.watch_store.sync_poll_keys(team_id=actor.team_id)
            text = (
                f":moneybag: <@{actor.user_id}> capped {label} at {cap}. Spending that would "
                "go over it is refused (admins can run it with `--over-budget`, with approval)."
            )
            return replies.notice(text, public=True)
        removed = await self.store.clear(actor.team_id, actor.enterprise_id, scope)
        await self.trail.record(
            actor,
            "budget.clear",
            "allow",
            "ok" if removed else "noop",
            provider=scope or None,
        )
        await self.watch_store.sync_poll_keys(team_id=actor.team_id)
        if not removed:
            return replies.notice(f"{label[:1].upper()}{label[1:]} had no budget caps.")
        return replies.notice(
            f":moneybag: <@{actor.user_id}> removed the budget caps of {label}.", public=True
        )

    # -- after each poll (the watcher) -----------------------------------------------------

    async def capped(self, keys: Sequence[PollKey]) -> set[tuple[str, str]]:
        return await self.store.teams_with_caps([(k.enterprise_id, k.team_id) for k in keys])

    async def after_poll(
        self,
        key: PollKey,
        watches: Sequence[tuple[str, str, str]],
        *,
        changed: bool,
        capped: bool,
    ) -> None:
        """Sample the key's burn (when it may have moved, or the last sample is getting old);
        when the workspace has caps, fire the alerts its spend reached, once each.

        ``watches``: all of the workspace's watches ``(provider, deployment, channel)``."""
        where = (key.enterprise_id, key.team_id, key.provider)
        now = self.clock()
        last = self._sampled.get(where)
        if changed or last is None or now - last >= SAMPLE_EVERY:
            await self.store.record_burn(key.team_id, key.enterprise_id or None, key.provider)
            self._sampled[where] = now
        if capped:
            await self.alert(key, watches)

    async def alert(self, key: PollKey, watches: Sequence[tuple[str, str, str]]) -> int:
        """Queue the alerts the key's provider and its workspace reached (each once)."""
        scopes, workspace = await self.scopes(key.team_id, key.enterprise_id or None)
        mine = next((s for s in scopes if s.provider == key.provider), None)
        fired = 0
        now = self._now()
        for scope in (mine, workspace):
            if scope is None or not scope.caps.any:
                continue
            levels = reached(scope, now)
            if not levels:
                continue
            if scope.provider:
                channels = channels_for(watches, scope.provider, "")
            else:
                channels = list(dict.fromkeys(channel for _, _, channel in watches))
            new = await self.store.claim_alerts(
                key.team_id,
                key.enterprise_id or None,
                levels,
                text_for=lambda level, scope=scope: alert_text(scope, level),  # type: ignore[misc]
                channels=channels,
            )
            fired += len(new)
        return fired

    async def prune(self) -> int:
        return await self.store.prune(self.clock() - KEEP_SAMPLES)

    async def forget_workspace(self, team_id: str, enterprise_id: str | None) -> None:
        await self.store.forget_workspace(team_id, enterprise_id)
