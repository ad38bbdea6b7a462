"""The daily digest: ``/deploy digest daily 09:00 [#channel]`` (admins), ``digest off``.

Each day's digest is one row of the job table keyed ``digest:<team>:<date>``: however many
replicas run, that day's digest is one job, claimed by one worker, posted once. When it runs
it first files the next day's (the same unique key from every replica: one), then posts.

Spend comes from one function (``DigestService.spend``): :meth:`DigestService.recorded_spend`
integrates the budget's burn samples (the watcher records them for the providers it polls) and
falls back, for a provider without samples, to :meth:`DigestService.estimated_spend` (what ran,
from the audit log's starts and stops, at its price now).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.core.arguments import Digest
from bot.core.digest import (
    Burning,
    DigestFacts,
    Toggle,
    day_window,
    digest_reply,
    local_date,
    running_seconds,
    setting_reply,
)
from bot.core.operations import Operation
from bot.core.replies import Reply, notice
from bot.core.timers import When
from bot.db.budget_store import BudgetStore
from bot.db.digest_reads import DigestReads
from bot.db.jobs import JobStore, NewJob
from bot.providers.errors import ProviderError
from bot.providers.models import Deployment, DeploymentStatus
from bot.services.audit_trail import AuditTrail
from bot.services.deployments import Actor, DeploymentService
from bot.services.people import People
from bot.services.slack_io import SlackIO
from bot.watch.diff import ALERT_TEXT

DIGEST_KIND = "digest"

#: (workspace, day start, day end, every deployment listed, now) → USD per provider.
SpendSource = Callable[
    [Actor, float, float, Sequence[Deployment], float], Awaitable[dict[str, Decimal]]
]


def digest_key(team_id: str, date: str) -> str:
    return f"digest:{team_id}:{date}"


@dataclass(frozen=True)
class DigestSetting:
    at: str
    tz_offset: int
    channel: str
    set_by: str

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at, "tz": self.tz_offset, "channel": self.channel, "set_by": self.set_by}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DigestSetting:
        return cls(
            at=str(data.get("at") or "09:00"),
            tz_offset=int(data.get("tz") or 0),
            channel=str(data.get("channel") or ""),
            set_by=str(data.get("set_by") or ""),
        )


class DigestService:
    def __init__(
        self,
        store: JobStore,
        people: People,
        trail: AuditTrail,
        deployments: DeploymentService,
        reads: DigestReads,
        *,
        burn: BudgetStore | None = None,
    ) -> None:
        self.store = store
        self.people = people
        self.trail = trail
        self.deployments = deployments
        self.reads = reads
        self.burn = burn
        #: Where yesterday's spend comes from (one function: see the module docstring).
        self.spend: SpendSource = self.recorded_spend

    # -- the command -------------------------------------------------------------------------

    async def execute(self, actor: Actor, op: Operation, slack: SlackIO) -> Reply:
        args = op.typed(Digest)
        if args.sub == "show":
            return await self.showing(actor)
        await self.people.authorize(actor, "digest", slack, what="set the daily digest")
        await self._cancel_all(actor.team_id)
        if args.sub == "off":
            await self.trail.record(actor, "digest.off", "allow", "ok")
            return notice(
                f":newspaper: <@{actor.user_id}> turned the daily digest off.", public=True
            )
        channel = args.channel or actor.channel_id
        if not channel:
            return notice("Name a channel: `/deploy digest daily 09:00 #ops`.")
        setting = DigestSetting(
            at=args.at or "09:00",
            tz_offset=await slack.tz_offset(actor.user_id),
            channel=channel,
            set_by=actor.user_id,
        )
        next_at = await self.schedule(actor, setting)
        await self.trail.record(
            actor, "digest.set", "allow", "ok", params={**setting.as_json(), "next": int(next_at)}
        )
        return setting_reply(setting.at, setting.tz_offset, setting.channel, next_at)

    async def showing(self, actor: Actor) -> Reply:
        rows = await self.store.scheduled(DIGEST_KIND, actor.team_id, limit=1)
        if not rows:
            return setting_reply(None, 0, None, None)
        setting = DigestSetting.from_json(dict(rows[0].payload.get("data") or {}))
        return setting_reply(setting.at, setting.tz_offset, setting.channel, rows[0].run_after)

    async def _cancel_all(self, team_id: str) -> None:
        for row in await self.store.scheduled(DIGEST_KIND, team_id, limit=50):
            await self.store.cancel(row.key, why="the digest setting changed")

    async def schedule(self, actor: Actor, setting: DigestSetting) -> float:
        """File the next digest (a day whose digest is already done or filed: that one)."""
        now = self.store.clock()
        when = When(at=setting.at, tz_offset=setting.tz_offset)
        fire = when.fire_at(now)
        for _ in range(3):
            date = local_date(fire, setting.tz_offset)
            key = digest_key(actor.team_id, date)
            job = NewJob(
                kind=DIGEST_KIND,
                key=key,
                payload={"data": {**setting.as_json(), "date": date}, "actor": actor.as_json()},
                team_id=actor.team_id,
                user_id=actor.user_id,
                run_after=fire,
            )
            if (await self.store.enqueue([job]))[0]:
                return fire
            row = await self.store.by_key(key)
            if row is not None and row["state"] == "queued":
                return float(row["run_after"])  # another replica filed it: the same digest
            fire = when.fire_at(fire)  # that day's digest has gone out: the next day's
        return fire

    # -- the digest itself -------------------------------------------------------------------

    async def run(self, actor: Actor, data: dict[str, Any], slack: SlackIO) -> None:
        """A digest job: file tomorrow's first (so a failure here loses no later day), then
        post this one."""
        setting = DigestSetting.from_json(data)
        await self.schedule(actor, setting)
        reply = digest_reply(await self.facts(actor, setting.tz_offset))
        if await slack.post(setting.channel, reply) is None:
            await slack.dm(setting.set_by, reply)

    async def facts(self, actor: Actor, tz_offset: int) -> DigestFacts:
        now = self.store.clock()
        start, end, date = day_window(now, tz_offset)
        listed, unreachable = await self._listed(actor)
        spend = await self.spend(actor, start, end, listed, now)
        running = [
            Burning(d.provider, d.id, d.name, d.cost_per_hour_usd)
            for d in listed
            if d.status is DeploymentStatus.RUNNING
        ]
        return DigestFacts(
            date=date,
            spend=spend,
            running=running,
            alerts=await self.reads.alerts(
                actor.team_id,
                actor.enterprise_id,
                start=start,
                end=end,
                headings=ALERT_TEXT.values(),
            ),
            decided=await self.reads.decided(
                actor.team_id, actor.enterprise_id, start=start, end=end
            ),
            unreachable=unreachable,
        )

    async def _listed(self, actor: Actor) -> tuple[list[Deployment], list[str]]:
        names = await self.deployments.connected_names(actor)

        async def listing(name: str) -> list[Deployment] | None:
            try:
                client = await self.deployments.client(actor, name)  # type: ignore[arg-type]
                return await client.list_deployments()
            except ProviderError:
                return None

        lists = await asyncio.gather(*(listing(n) for n in names))
        found = [d for items in lists if items for d in items]
        return found, [n for n, items in zip(names, lists, strict=True) if items is None]

    async def recorded_spend(
        self, actor: Actor, start: float, end: float, listed: Sequence[Deployment], now: float
    ) -> dict[str, Decimal]:
        """The burn samples integrated over the day, per provider that has them; the estimate
        for the others."""
        found = await self.estimated_spend(actor, start, end, listed, now)
        if self.burn is None:
            return found
        sums = await self.burn.spend(actor.team_id, actor.enterprise_id, [start, end], now)
        for provider, (since_start, since_end) in sums.items():
            found[provider] = (since_start - since_end).quantize(Decimal("0.01"))
        return found

    async def estimated_spend(
        self, actor: Actor, start: float, end: float, listed: Sequence[Deployment], now: float
    ) -> dict[str, Decimal]:
        """Each listed deployment's running time that day (its status now and the starts and
        stops in the audit log since) at its price per hour now."""
        toggles = await self.reads.toggles(actor.team_id, actor.enterprise_id, since=start)
        spend: dict[str, Decimal] = {}
        for dep in listed:
            if dep.cost_per_hour_usd is None:
                continue
            began = dep.started_at or dep.created_at
            seconds = running_seconds(
                toggles.get((dep.provider, dep.id), []),
                running_now=dep.status is DeploymentStatus.RUNNING,
                now=now,
                since=began.timestamp() if began is not None else None,
                start=start,
                end=end,
            )
            cost = dep.cost_per_hour_usd * Decimal(seconds) / Decimal(3600)
            spend[dep.provider] = spend.get(dep.provider, Decimal(0)) + cost
        return {p: v.quantize(Decimal("0.01")) for p, v in spend.items()}


__all__ = ["DIGEST_KIND", "DigestService", "DigestSetting", "SpendSource", "Toggle", "digest_key"]
