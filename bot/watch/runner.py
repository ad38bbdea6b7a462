"""The watcher's background loops (poll and send), started by ``serve`` and the shell.

Both loops run on every replica; the database leases decide who polls which key and who
sends to which channel. ``stop()`` ends them within a bounded time (a poll in progress is
given ``grace`` seconds, then cancelled: its lease expires and another replica redoes it).
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.watch.poller import Poller
from bot.watch.sender import Sender

log = logging.getLogger(__name__)

#: Delivered notifications are kept a week (for support), attributions a month (App Home's
#: recent actions); pruning runs at most hourly.
KEEP_SENT = 7 * 86400.0
KEEP_ATTRIBUTIONS = 30 * 86400.0
PRUNE_EVERY = 3600.0


class WatchRunner:
    def __init__(
        self,
        poller: Poller,
        sender: Sender,
        *,
        poll_tick: float | None = None,
        send_tick: float = 0.5,
    ) -> None:
        self.poller = poller
        self.sender = sender
        #: How often a replica looks for due keys (each key is polled once per interval): a
        #: small part of the interval, so a change waits at most about one interval.
        self.poll_tick = poll_tick or max(0.05, min(0.5, poller.interval / 10))
        self.send_tick = send_tick
        self._stop = asyncio.Event()
        #: Set when this replica's poll wrote notifications (mid-walk too): its sender goes
        #: at once.
        self._written = asyncio.Event()
        poller.on_written = self._written.set
        #: Set when a key was made due now (deploybot changed a deployment): the poll loop
        #: looks at once instead of at its next tick.
        self._due = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._pruned_at = 0.0

    def poll_now(self) -> None:
        """Look for due keys now (a key was just made due); harmless when a poll is under way:
        the loop looks again as soon as it ends."""
        self._due.set()

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    def start(self) -> None:
        if self.running:
            return
        self._stop = asyncio.Event()
        self._tasks = [
            asyncio.get_running_loop().create_task(self._loop("poll"), name="watch-poll"),
            asyncio.get_running_loop().create_task(self._loop("send"), name="watch-send"),
        ]

    async def _loop(self, which: str) -> None:
        while not self._stop.is_set():
            try:
                if which == "poll":
                    self._due.clear()
                    stats = await self.poller.poll_once()
                    if stats.notifications:
                        self._written.set()
                    await self._prune()
                else:
                    self._written.clear()
                    await self.sender.send_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the watcher's %s loop failed; trying again", which)
            # The poll loop wakes when a key it polled is due again, when a key was made due
            # (``poll_now``), or after a tick.
            tick = self.poller.pause(self.poll_tick) if which == "poll" else self.send_tick
            await self._pause(tick, wake=self._written if which == "send" else self._due)

    async def _pause(self, seconds: float, *, wake: asyncio.Event | None) -> None:
        """Sleep ``seconds``, or less when stopping (or when ``wake`` is set)."""
        waiters = [asyncio.ensure_future(self._stop.wait())]
        if wake is not None:
            waiters.append(asyncio.ensure_future(wake.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _prune(self) -> None:
        """Now and then, delete what is no longer needed (any replica may; it is idempotent)."""
        now = time.time()
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        removed = await self.poller.store.prune(
            sent_before=now - KEEP_SENT, attributed_before=now - KEEP_ATTRIBUTIONS
        )
        if self.poller.budget is not None:
            removed += await self.poller.budget.prune()
        if removed:
            log.info("pruned %d delivered notifications and old attributions", removed)

    async def stop(self, grace: float = 5.0) -> None:
        self._stop.set()
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self.poller.retire()
        except Exception:
            log.warning("could not withdraw this replica's presence; it expires by itself")
        await self.sender.aclose()
