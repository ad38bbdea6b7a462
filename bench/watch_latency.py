"""Notification latency: a change in a sandbox → the first Slack call about it.

The real watcher loops run (``WatchRunner``: poller and sender) with a short poll interval
against the fake Slack Web API; deployments change in the sandbox process one at a time at
random moments, and each change's latency is the time from the sandbox's acknowledgement of
the change to the first ``chat.postMessage`` / ``chat.update`` whose blocks name the
deployment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text


@dataclass
class Latency:
    samples: list[float]
    missed: int
    #: Wall seconds of each key's poll (list walk) during the run: a change can wait up to
    #: one interval plus the walk's drift before its page is read again.
    walks: list[float] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        if not self.samples:
            return float("nan")
        ordered = sorted(self.samples)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[index]


async def measure_latency(
    *,
    store: Any,
    pool: Any,
    teams: list[tuple[str, str, str]],
    change: Callable[[str, str], Awaitable[float]],
    candidates: dict[str, list[str]],
    interval: float,
    changes: int,
    spacing: float,
) -> Latency:
    """Run the loops, make ``changes`` changes ``spacing`` s apart (jittered), wait for each."""
    from bot.slack_local.fake_api import FakeSlackAPI
    from bot.watch.poller import Poller
    from bot.watch.runner import WatchRunner
    from bot.watch.sender import Sender

    changed_at: dict[str, float] = {}
    seen: dict[str, float] = {}
    all_seen = asyncio.Event()

    def on_call(call: Any) -> None:
        if call.method not in ("chat.postMessage", "chat.update") or not changed_at:
            return
        blocks = json.dumps(call.body.get("blocks") or "")
        now = time.time()
        for dep_id in list(changed_at):
            if dep_id not in seen and dep_id in blocks:
                seen[dep_id] = now
        if len(seen) == changes:
            all_seen.set()

    async def token(team_id: str, enterprise_id: str) -> str | None:
        return "xoxb-bench"

    # What earlier cycles left in the outbox is not this measurement's: set it aside.
    async with store.engine.begin() as conn:
        await conn.execute(
            text("UPDATE notification_outbox SET state = 'dropped' WHERE state = 'pending'")
        )
    rng = random.Random(7)
    async with FakeSlackAPI(strict_tokens=False) as slack:
        slack.on_call = on_call
        for team, provider, _ in teams:
            await store.poll_soon(team, None, provider)
        poller = Poller(store, pool, interval=interval)
        sender = Sender(store, token, lambda t: AsyncWebClient(token=t, base_url=slack.base_url))
        runner = WatchRunner(poller, sender)
        walks: list[float] = []
        poll_once = poller.poll_once

        async def timed_poll(**kwargs: Any) -> Any:
            stats = await poll_once(**kwargs)
            walks.extend(k.seconds for k in stats.keys)
            return stats

        poller.poll_once = timed_poll  # type: ignore[method-assign]
        runner.start()
        try:
            await asyncio.sleep(interval)  # one quiet cycle first
            for i in range(changes):
                team, provider, key = teams[i % len(teams)]
                dep_id = candidates[key].pop()
                changed_at[dep_id] = await change(key, dep_id)
                await asyncio.sleep(spacing * rng.uniform(0.5, 1.5))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_seen.wait(), timeout=3 * interval + 10)
        finally:
            await runner.stop()
    samples = [seen[d] - changed_at[d] for d in seen]
    return Latency(samples, len(changed_at) - len(seen), walks)
