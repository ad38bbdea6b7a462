"""Stop timers as durable jobs: filing, listing, extending, cancelling, warning.

A timer is two rows of the job table — its stop (kind ``stop_timer``, key
``timer:<team>:<id>``, due when the stop runs) and its warning (``stop_timer_warning``,
15 minutes earlier, keyed by the stop's time). The job table makes it durable (a restart or a
replica crash loses nothing; a dead worker's job is taken over under its lease) and its unique
key makes it fire once. Extending moves the stop's ``run_after`` (one conditional UPDATE) and
files a new warning; a warning whose stop moved or ended says nothing.

The policy decision is the pipeline's, taken when the timer is set
(:meth:`bot.services.pipeline.Pipeline.run`); the stop itself runs through the pipeline's
preflight and audit at fire time (:meth:`~bot.services.pipeline.Pipeline.fire_timer`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence

from bot.core import timers as view
from bot.core.policy import Role
from bot.core.replies import Reply, notice
from bot.core.timers import EXTEND_BY, WARN_BEFORE, Timer, When
from bot.db.jobs import JobStore, NewJob, Scheduled
from bot.providers.models import Deployment
from bot.services.audit_trail import AuditTrail
from bot.services.deployments import Actor
from bot.services.errors import NotPermittedError
from bot.services.people import People
from bot.services.slack_io import SlackIO

FIRE_KIND = "stop_timer"
WARN_KIND = "stop_timer_warning"
#: An approval request whose approval files the timer.
REQUEST_KIND = "stop_timer"
GONE = (
    "Stop timer `{}` isn't waiting any more (it has fired or was cancelled): see `/deploy timers`."
)


def fire_key(team_id: str, timer_id: str) -> str:
    return f"timer:{team_id}:{timer_id}"


def warn_prefix(team_id: str, timer_id: str) -> str:
    return f"timer-warn:{team_id}:{timer_id}:"


def warn_key(team_id: str, timer_id: str, fire_at: float) -> str:
    return f"{warn_prefix(team_id, timer_id)}{int(fire_at)}"


class TimerService:
    def __init__(self, store: JobStore, people: People, trail: AuditTrail) -> None:
        self.store = store
        self.people = people
        self.trail = trail

    def now(self) -> float:
        """The job table's clock: timers fire by it."""
        return self.store.clock()

    # -- filing ------------------------------------------------------------------------------

    async def file(
        self,
        actor: Actor,
        deployment: Deployment,
        when: When,
        *,
        decision: str,
        approvers: Sequence[str] = (),
        request_id: str | None = None,
        reason: str | None = None,
        action: str = "stop",
        timer_id: str | None = None,
    ) -> Reply:
        """Write the timer's jobs (the policy has decided: allowed, or approved). A
        ``timer_id`` given twice (a retried create) files one timer."""
        now = self.now()
        timer = Timer(
            timer_id=timer_id or secrets.token_hex(3),
            provider=deployment.provider,
            deployment_id=deployment.id,
            name=deployment.name,
            channel=actor.channel_id,
            set_by=actor.user_id,
            fire_at=when.fire_at(now),
            decision=decision,
            approvers=tuple(approvers),
            request_id=request_id,
            reason=reason,
            action=action,
        )
        jobs = [self._job(actor, FIRE_KIND, fire_key(actor.team_id, timer.timer_id), timer)]
        if timer.fire_at - now > WARN_BEFORE:
            jobs.append(self._warning(actor, timer))
        await self.store.enqueue(jobs)
        await self.trail.record(
            actor,
            "timer.set",
            decision,
            "ok",
            provider=deployment.provider,
            target=deployment.id,
            params={
                "timer": timer.timer_id,
                "action": action,
                "fire_at": int(timer.fire_at),
                **when.as_json(),
            },
            approvers=approvers,
            request_id=request_id,
        )
        return view.set_reply(timer, now)

    def _job(self, actor: Actor, kind: str, key: str, timer: Timer) -> NewJob:
        run_after = timer.fire_at if kind == FIRE_KIND else timer.fire_at - WARN_BEFORE
        return NewJob(
            kind=kind,
            key=key,
            payload={"data": timer.as_json(), "actor": actor.as_json()},
            team_id=actor.team_id,
            user_id=actor.user_id,
            run_after=run_after,
        )

    def _warning(self, actor: Actor, timer: Timer) -> NewJob:
        key = warn_key(actor.team_id, timer.timer_id, timer.fire_at)
        return self._job(actor, WARN_KIND, key, timer)

    # -- reading -----------------------------------------------------------------------------

    async def timers(self, team_id: str) -> list[Timer]:
        rows = await self.store.scheduled(FIRE_KIND, team_id, limit=200)
        return [_timer(row) for row in rows]

    async def find(self, team_id: str, timer_id: str) -> Timer | None:
        """The timer while it waits (None once it fired, ran or was cancelled)."""
        row = await self.store.by_key(fire_key(team_id, timer_id))
        if row is None or row["state"] != "queued":
            return None
        return _timer(
            Scheduled(
                id=row["id"],
                key=row["key"],
                run_after=float(row["run_after"]),
                payload=_json(row["payload"]),
                user_id=row["user_id"],
            )
        )

    async def listing(self, actor: Actor) -> Reply:
        return view.list_reply(await self.timers(actor.team_id), self.now())

    async def due_warning(self, team_id: str, data: dict[str, object]) -> Timer | None:
        """The timer a warning job is for, if it still stops at the time the warning was
        written for (None: it moved, was cancelled, or fired)."""
        timer = Timer.from_json(dict(data))
        found = await self.find(team_id, timer.timer_id)
        if found is None or abs(found.fire_at - timer.fire_at) > 1:
            return None
        return found

    # -- changing ----------------------------------------------------------------------------

    async def _may_change(self, actor: Actor, slack: SlackIO) -> None:
        policy = await self.people.access.policy(actor.team_id, actor.enterprise_id)
        person = await self.people.person(actor, slack, policy)
        if person.role is Role.VIEWER:
            raise NotPermittedError("Viewers can't change stop timers: ask an operator.")

    async def cancel(self, actor: Actor, timer_id: str, slack: SlackIO) -> Reply:
        await self._may_change(actor, slack)
        timer = await self.find(actor.team_id, timer_id)
        if timer is None or not await self.store.cancel(
            fire_key(actor.team_id, timer_id), why=f"cancelled by {actor.user_id}"
        ):
            return notice(GONE.format(timer_id))
        for row in await self.store.scheduled(
            WARN_KIND, actor.team_id, key_prefix=warn_prefix(actor.team_id, timer_id)
        ):
            await self.store.cancel(row.key, why="its timer was cancelled")
        await self.trail.record(
            actor,
            "timer.cancel",
            "allow",
            "ok",
            provider=timer.provider,
            target=timer.deployment_id,
            params={"timer": timer_id},
        )
        return view.cancelled_reply(timer, actor.user_id)

    async def extend(self, actor: Actor, timer_id: str, slack: SlackIO) -> Reply:
        await self._may_change(actor, slack)
        key = fire_key(actor.team_id, timer_id)
        moved = await self.store.reschedule(key, later_by=EXTEND_BY)
        timer = await self.find(actor.team_id, timer_id) if moved is not None else None
        if moved is None or timer is None:
            return notice(GONE.format(timer_id))
        for row in await self.store.scheduled(
            WARN_KIND, actor.team_id, key_prefix=warn_prefix(actor.team_id, timer_id)
        ):
            await self.store.cancel(row.key, why="its timer was extended")
        setter = Actor(actor.team_id, timer.set_by, actor.enterprise_id, timer.channel)
        await self.store.enqueue([self._warning(setter, timer)])
        await self.trail.record(
            actor,
            "timer.extend",
            "allow",
            "ok",
            provider=timer.provider,
            target=timer.deployment_id,
            params={"timer": timer_id, "fire_at": int(timer.fire_at)},
        )
        return view.extended_reply(timer, actor.user_id, self.now())


def _json(text: object) -> dict[str, object]:
    try:
        found = json.loads(str(text))
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _timer(row: Scheduled) -> Timer:
    data = row.payload.get("data")
    return Timer.from_json(data if isinstance(data, dict) else {}, fire_at=row.run_after)
