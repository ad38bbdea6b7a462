"""``/deploy logs <deployment> --follow [10m]``: a header message in the channel, new lines
appended in its thread every few seconds until the time is up, the deployment stops, or
someone clicks **Stop following**.

Each poll is a durable job that schedules the next one with what it has posted (the state
below travels in the job), so a restart or a dead worker costs at most one poll's delay; the
stop button writes a job row the next poll finds.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from bot.core import log_follow as words
from bot.core.replies import Reply, error
from bot.core.results import Logs
from bot.providers.errors import NotFoundError, ProviderError
from bot.providers.models import Deployment, DeploymentStatus, LogLine
from bot.services.deployments.model import Actor
from bot.services.pool import ProviderPool
from bot.services.slack_io import SlackIO

log = logging.getLogger(__name__)

#: Statuses after which no new lines will come.
_ENDED = frozenset(
    {
        DeploymentStatus.STOPPED,
        DeploymentStatus.ARCHIVED,
        DeploymentStatus.CLOSED,
        DeploymentStatus.FAILED,
    }
)
#: Lines remembered as posted (to never post one twice when reading overlapping windows).
_SEEN = 300
#: Polls in a row the provider may fail before following gives up.
MAX_ERRORS = 5
#: The lines posted when following starts (the rest of the log: `/deploy logs`).
FIRST_LINES = 20


@dataclass(frozen=True)
class Following:
    """One follow, as each poll's job carries it."""

    id: str
    team_id: str
    enterprise_id: str
    user_id: str
    provider: str
    deployment_id: str
    channel: str
    ts: str
    seconds: int
    until: float
    cursor: float | None = None
    seen: tuple[str, ...] = ()
    polls: int = 0
    errors: int = 0
    name: str = ""

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["seen"] = list(self.seen)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Following:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["seen"] = tuple(str(s) for s in values.get("seen") or ())
        return cls(**values)


def _digest(line: LogLine) -> str:
    stamp = line.timestamp.isoformat() if line.timestamp else ""
    raw = f"{stamp}|{line.source or ''}|{line.message}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def fresh(lines: Sequence[LogLine], seen: Sequence[str]) -> list[LogLine]:
    """The lines not posted yet, in order."""
    known = set(seen)
    return [line for line in lines if _digest(line) not in known]


def remember(seen: Sequence[str], lines: Sequence[LogLine]) -> tuple[str, ...]:
    return (*seen, *(_digest(line) for line in lines))[-_SEEN:]


def _cursor(lines: Sequence[LogLine], before: float | None) -> float | None:
    stamps = [line.timestamp.timestamp() for line in lines if line.timestamp is not None]
    return max(stamps) if stamps else before


@dataclass
class LogFollower:
    pool: ProviderPool
    #: Write the next poll (a job) to run at the given epoch time.
    schedule: Callable[[Following, float], Awaitable[None]]
    #: Who clicked Stop following on this follow (None: nobody).
    stopped: Callable[[str], Awaitable[str | None]]
    interval: float = 5.0
    clock: Callable[[], float] = field(default=time.time)

    async def start(self, actor: Actor, found: Logs, seconds: int, slack: SlackIO) -> Reply:
        """Post the header (and the latest lines in its thread), then schedule the polls."""
        channel = actor.channel_id or actor.user_id
        now = self.clock()
        follow_id = secrets.token_hex(8)
        until = now + seconds
        header = words.header(
            found.deployment,
            seconds=seconds,
            until=datetime.fromtimestamp(until, UTC),
            follow_id=follow_id,
            user_id=actor.user_id,
        )
        posted = await slack.post(channel, header)
        if posted is None:
            return error(
                "I can't post in this conversation, so I can't follow the logs here: invite me "
                "(`/invite @deploybot`) or ask in a channel I'm in."
            )
        first = list(found.lines)[-FIRST_LINES:]
        for reply in words.batches(first)[0]:
            await slack.post(posted.channel, reply, thread_ts=posted.ts)
        state = Following(
            id=follow_id,
            team_id=actor.team_id,
            enterprise_id=actor.enterprise_id or "",
            user_id=actor.user_id,
            provider=found.deployment.provider,
            deployment_id=found.deployment.id,
            channel=posted.channel,
            ts=posted.ts,
            seconds=seconds,
            until=until,
            cursor=_cursor(first, None),
            seen=remember((), found.lines),
            name=found.deployment.name,
        )
        await self.schedule(state, now + self.interval)
        log.info("following logs", extra={"deployment": state.deployment_id, "job": follow_id})
        return words.started(found.deployment, posted.channel, seconds)

    async def poll(self, state: Following, slack: SlackIO) -> Following | None:
        """One poll: post what is new; the next state, or None when following ended."""
        who = await self.stopped(state.id)
        if who is not None:
            await self._end(state, slack, None, words.stopped_by(who))
            return None
        if self.clock() >= state.until:
            await self._end(state, slack, None, words.time_up(state.seconds))
            return None
        try:
            client = await self.pool.get(state.team_id, state.provider, state.enterprise_id or None)  # type: ignore[arg-type]
            deployment = await client.get(state.deployment_id)
            since = (
                datetime.fromtimestamp(state.cursor - 1, UTC) if state.cursor is not None else None
            )
            lines = await client.logs(state.deployment_id, tail=500, since=since)
        except NotFoundError:
            await self._end(state, slack, None, words.gone())
            return None
        except ProviderError as exc:
            if state.errors + 1 >= MAX_ERRORS:
                await self._end(state, slack, None, f"stopped following: {exc.message}")
                return None
            log.info("a log poll failed (%s); trying again", type(exc).__name__)
            return replace(state, errors=state.errors + 1, polls=state.polls + 1)
        new = fresh(lines, state.seen)
        for reply in words.batches(new)[0]:
            await slack.post(state.channel, reply, thread_ts=state.ts)
        state = replace(
            state,
            cursor=_cursor(new, state.cursor),
            seen=remember(state.seen, new),
            polls=state.polls + 1,
            errors=0,
            name=deployment.name or state.name,
        )
        if deployment.status in _ENDED and not new:
            await self._end(state, slack, deployment, words.not_running(deployment))
            return None
        return state

    async def _end(
        self, state: Following, slack: SlackIO, deployment: Deployment | None, why: str
    ) -> None:
        shown = deployment or _placeholder(state)
        await slack.update(state.channel, state.ts, words.ended(shown, why))
        await slack.post(
            state.channel,
            Reply(text=f"_{why[:1].upper()}{why[1:]}_", public=True),
            thread_ts=state.ts,
        )

    def next_at(self) -> float:
        return self.clock() + self.interval


def _placeholder(state: Following) -> Deployment:
    return Deployment(
        provider=state.provider,  # type: ignore[arg-type]
        id=state.deployment_id,
        name=state.name or state.deployment_id,
        status=DeploymentStatus.UNKNOWN,
        raw_status="",
    )


__all__ = ["Following", "LogFollower", "fresh", "remember"]
