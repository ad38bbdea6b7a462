"""The poller: one list walk per (workspace, provider) key, a diff, one transaction.

Per claimed key: every page of the provider's deployment list (largest page size), the
last-known states from the database, the decisions of :mod:`bot.watch.diff`, and then one
transaction that records new and changed states, writes the notifications to the outbox and
releases the lease. A change found mid-walk is not held until the walk ends: its notification
is written (with the states recorded so far) at once and the sender is woken, so a change
waits for its page to be read, not for the whole list; a large baseline is likewise written in
parts of ``FLUSH_ROWS`` states, so its memory stays bounded.

Provider calls per cycle are the list pages, plus only what a change needs: a direct look-up
of a watched deployment that left the list (Akash lists active ones only), the latest event of
a deployment that just failed (Nosana), and the account balance where credits are watched
(one call per key).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot import metrics
from bot.core.render import PROVIDER_LABEL, action_value, clip, deployment_card, escape
from bot.db.watch.lease_store import Presence
from bot.db.watch.store import (
    CycleContext,
    LostLease,
    OutboxRow,
    PollKey,
    StateRow,
    StateUpdate,
    WatchStore,
)
from bot.providers.base import BaseProvider
from bot.providers.errors import NotFoundError, ProviderError, ValidationError
from bot.providers.models import Capability, Deployment
from bot.services.errors import ServiceError
from bot.services.pool import ProviderPool
from bot.watch import attribution, diff
from bot.watch.diff import Change, Thresholds
from bot.watch.keypoll import KeyPoll

if TYPE_CHECKING:
    from bot.services.budget import BudgetService

log = logging.getLogger(__name__)

PAGE_SIZE = 100
#: Page walks stop here (100k deployments at 100 a page, with room to spare).
MAX_PAGES = 5000
#: At most this many direct look-ups of deployments that left the list, per key and cycle.
MAX_LOOKUPS = 50
#: How often an account's credits are checked (they move slowly; a list walk is every cycle).
BALANCE_EVERY = 300.0
#: How long after an operation through deploybot a transition it explains is credited.
ATTRIBUTION_WINDOW = attribution.WINDOW_SECONDS
#: Recorded states a poll holds before it writes them (a baseline is written in parts). Each
#: state held and its write's parameters cost about a kilobyte, times the keys polled at once:
#: at 250 a baseline of 100,000 deployments peaks ~3 MB lower than at 1,000, for ~0.3 s more
#: of commits, once.
FLUSH_ROWS = 250
#: A replica counts as alive this long after it last announced itself (it re-announces
#: every third of it while it polls, and withdraws when it stops).
PRESENCE_TTL = 30.0


@dataclass
class PollStats:
    """What one key's poll did (the benchmark and the tests read these)."""

    provider: str = ""
    list_calls: int = 0
    other_calls: int = 0
    deployments: int = 0
    changes: int = 0
    notifications: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def calls(self) -> int:
        return self.list_calls + self.other_calls


@dataclass
class CycleStats:
    keys: list[PollStats] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return sum(k.calls for k in self.keys)

    @property
    def list_calls(self) -> int:
        return sum(k.list_calls for k in self.keys)

    @property
    def deployments(self) -> int:
        return sum(k.deployments for k in self.keys)

    @property
    def notifications(self) -> int:
        return sum(k.notifications for k in self.keys)


class Poller:
    def __init__(
        self,
        store: WatchStore,
        pool: ProviderPool,
        *,
        interval: float = 30.0,
        owner: str | None = None,
        lease_seconds: float | None = None,
        concurrency: int = 4,
        clock: Callable[[], float] = time.time,
        budget: BudgetService | None = None,
    ) -> None:
        self.store = store
        #: Samples each polled key's burn and fires budget alerts (None: no budgets).
        self.budget = budget
        self.pool = pool
        self.interval = interval
        self.owner = owner or f"poller-{uuid.uuid4().hex[:12]}"
        #: A lease outlives a slow cycle but not a dead replica by much.
        self.lease_seconds = lease_seconds or max(60.0, 4 * interval)
        self.clock = clock
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._synced_at: float | None = None
        #: Called when a poll wrote notifications (the runner wakes its sender with it).
        self.on_written: Callable[[], None] | None = None
        self.presence_ttl = PRESENCE_TTL
        self._presence: Presence | None = None
        self._announced_at = 0.0
        #: The soonest a key this replica polled is due again (None: it polled none).
        self._next_due: float | None = None
        #: When each key's account balance was last checked, and against which thresholds.
        self._balance_checked: dict[tuple[str, str, str], tuple[float, Thresholds]] = {}

    async def announce(self, *, refresh: bool = False) -> Presence:
        """Tell the other replicas this one is alive (at most every third of the presence
        TTL unless ``refresh``); how many are, and how many keys they share."""
        now = self.clock()
        if refresh or self._presence is None or now - self._announced_at >= self.presence_ttl / 3:
            self._presence = await self.store.announce(self.owner, ttl=self.presence_ttl)
            self._announced_at = now
        return self._presence

    async def retire(self) -> None:
        """This replica stops polling: the others take its share from the next cycle."""
        self._presence = None
        await self.store.retire(self.owner)

    def pause(self, longest: float) -> float:
        """How long to wait before looking for due keys again: ``longest``, or less when a
        key this replica polled is due sooner (so it is polled on time, not a tick late)."""
        if self._next_due is None:
            return longest
        return min(longest, max(0.0, self._next_due - self.clock()))

    async def poll_once(self, *, force: bool = False, limit: int | None = None) -> CycleStats:
        """Claim the due keys (all unleased keys with ``force``) and poll them.

        Without ``limit``, keys are claimed as many at a time as are polled at once, until
        none is due or this replica has its fair share of the keys (``ceil(keys / live
        replicas)``, see ``announce``), so replicas share a cycle's keys instead of the first
        awake taking all; a share left unpolled (a replica died or is slow) is taken by the
        others at their next look.
        """
        now = self.clock()
        if self._synced_at is None or now - self._synced_at >= self.interval or force:
            # Watches sync their keys when they change; this catches providers connected or
            # disconnected since (once an interval is enough).
            await self.store.sync_poll_keys()
            self._synced_at = now
        stats = CycleStats()
        batch = limit or self.concurrency
        share = limit if limit is not None else (await self.announce()).share
        self._next_due = None
        claimed = 0
        while True:
            take = min(batch, share - claimed)
            if take <= 0:
                return stats
            keys = await self.store.claim_due_keys(
                self.owner, limit=take, lease_seconds=self.lease_seconds, force=force
            )
            claimed += len(keys)
            if keys:
                await self._poll_claimed(keys, stats)
            if force or limit is not None or len(keys) < take:
                return stats

    async def _poll_claimed(self, keys: list[PollKey], stats: CycleStats) -> None:
        context = await self.store.cycle_context(keys, self.clock() - ATTRIBUTION_WINDOW)
        context.batch = set(keys)
        if self.budget is not None:
            context.capped = await self.budget.capped(keys)

        async def one(key: PollKey) -> None:
            async with self._slots:
                stats.keys.append(await self.poll_key(key, context))

        try:
            await asyncio.gather(*(one(k) for k in keys))
        finally:
            await self.store.release_quiet(context.quiet, self.owner)

    async def poll_key(self, key: PollKey, context: CycleContext | None = None) -> PollStats:
        """Poll one claimed key (``context``: what the cycle read for all its keys)."""
        started = time.perf_counter()
        stats = PollStats(provider=key.provider)
        try:
            if context is None:
                context = await self.store.cycle_context([key], self.clock() - ATTRIBUTION_WINDOW)
            await self._poll(key, stats, context)
        except LostLease:
            stats.error = "lost lease"
            log.info("another replica recorded %s/%s first", key.team_id, key.provider)
        except (ProviderError, ServiceError) as exc:
            stats.error = exc.message
            metrics.POLL_ERRORS.labels(key.provider).inc()
            log.info("polling %s/%s failed: %s", key.team_id, key.provider, exc.message)
            await self.store.release_key(
                key, self.owner, next_due=self.clock() + self.interval, error=exc.message
            )
        except Exception as exc:
            stats.error = type(exc).__name__
            metrics.POLL_ERRORS.labels(key.provider).inc()
            log.exception("polling %s/%s failed", key.team_id, key.provider)
            await self.store.release_key(
                key, self.owner, next_due=self.clock() + self.interval, error=type(exc).__name__
            )
        finally:
            stats.seconds = time.perf_counter() - started
            metrics.POLL_CYCLE.labels(key.provider).observe(stats.seconds)
        return stats

    async def _walk(self, poll: KeyPoll) -> None:
        """Every list page: raw items diffed by fingerprint, only the changed normalized."""
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await poll.client.list_raw_page(cursor=cursor, limit=PAGE_SIZE)
            poll.stats.list_calls += 1
            changed = poll.diff_page(page.items)
            if changed:
                await self._consider_changed(poll, changed)
                if poll.changes or len(poll.new_states) + len(poll.updates) >= FLUSH_ROWS:
                    await self._flush(poll)
            if not page.next_cursor or page.next_cursor == cursor:
                break
            cursor = page.next_cursor

    async def _consider_changed(self, poll: KeyPoll, raw_items: list[Any]) -> None:
        ids = [i for i, _ in poll.pending if poll.is_known(i)]
        if ids:
            poll.known.update(await self.store.known_states(poll.key, ids))
        stamps = dict(poll.pending)
        poll.pending = []
        for d in await poll.client.normalize_listed(raw_items):
            poll.consider(d, d.id, d.status.value, d.name, stamps.get(d.id, ""))

    async def _flush(self, poll: KeyPoll) -> None:
        """Write what the walk found so far (keeping the lease): a change's notification
        goes out now, not when the walk ends; a baseline is written in parts."""
        outbox = await self._outbox(poll)
        await self.store.record_part(
            poll.key,
            self.owner,
            new_states=poll.new_states,
            updates=poll.updates,
            outbox=outbox,
        )
        poll.stats.changes += len(poll.changes)
        poll.stats.notifications += len(outbox)
        poll.wrote = poll.wrote or bool(poll.new_states or poll.updates)
        poll.new_states, poll.updates, poll.changes = [], [], []
        if outbox and self.on_written is not None:
            self.on_written()

    async def _poll(self, key: PollKey, stats: PollStats, context: CycleContext) -> None:
        client = await self.pool.get(key.team_id, key.provider, key.enterprise_id or None)  # type: ignore[arg-type]
        watches, thresholds, recent = context.for_key(key)
        prints = await self.store.fingerprints(key)
        started_at = self.clock()
        poll = KeyPoll(key, client, stats, watches, thresholds, recent, prints, started_at)
        await self._walk(poll)
        stats.deployments = poll.listed_count
        await self._look_up_missing(poll)
        if self._balance_due(poll):
            await self._check_credits(poll)
        outbox = await self._outbox(poll)
        stats.changes += len(poll.changes)
        stats.notifications += len(outbox)
        next_due = started_at + self.interval
        self._next_due = min(self._next_due or math.inf, next_due)
        changed = poll.wrote or bool(poll.new_states or poll.updates)
        if not (poll.new_states or poll.updates or outbox) and key in context.batch:
            # Nothing to write (the common case): the cycle releases these leases together.
            context.quiet.append((key, next_due))
        else:
            await self.store.commit_poll(
                key,
                self.owner,
                next_due=next_due,
                new_states=poll.new_states,
                updates=poll.updates,
                outbox=outbox,
            )
            if outbox and self.on_written is not None:
                self.on_written()
        await self._budget(key, context, changed=changed)

    async def _budget(self, key: PollKey, context: CycleContext, *, changed: bool) -> None:
        """Sample the key's burn and fire its workspace's budget alerts (never fails a poll)."""
        if self.budget is None:
            return
        team = (key.enterprise_id, key.team_id)
        try:
            await self.budget.after_poll(
                key,
                context.watches.get(team, []),
                changed=changed,
                capped=team in context.capped,
            )
        except Exception:
            log.exception("budget after polling %s/%s failed", key.team_id, key.provider)

    async def _look_up_missing(self, poll: KeyPoll) -> None:
        """Watched deployments that left the list: a direct look-up says what became of them."""
        known = poll.known
        if not poll.unlisted():
            return  # the common case: every known deployment was listed
        missing = [
            dep_id
            for dep_id in await self.store.listed_ids(poll.key)
            if dep_id and not poll.is_listed(dep_id)
        ][:MAX_LOOKUPS]
        if missing:
            known.update(await self.store.known_states(poll.key, missing))
        for dep_id in missing:
            if dep_id not in known:
                continue
            try:
                found: Deployment | None = await poll.client.get(dep_id)
            except (NotFoundError, ValidationError):
                found = None
            except ProviderError:
                continue  # look again next cycle
            finally:
                poll.stats.other_calls += 1
            if found is None:
                poll.consider(None, dep_id, diff.DELETED, known[dep_id][1].name, "")
            else:
                poll.consider(found, dep_id, found.status.value, found.name, "")

    def _balance_due(self, poll: KeyPoll) -> bool:
        """The account's credits, where they are watched: they move slowly, so every
        BALANCE_EVERY seconds (and at once when the threshold changed), not every cycle."""
        key, thresholds = poll.key, poll.thresholds
        if not (
            key.provider in diff.CREDIT_ALERT_PROVIDERS
            and thresholds.credits_usd > 0
            and Capability.BALANCE in poll.client.capabilities
        ):
            return False
        checked = self._balance_checked.get((key.enterprise_id, key.team_id, key.provider))
        return checked is None or checked[1] != thresholds or poll.now - checked[0] >= BALANCE_EVERY

    async def _check_credits(self, poll: KeyPoll) -> None:
        """Read the balance and record the account's state row (and a change, if any)."""
        key, known = poll.key, poll.known
        self._balance_checked[(key.enterprise_id, key.team_id, key.provider)] = (
            poll.now,
            poll.thresholds,
        )
        try:
            balance = await poll.client.balance()
            credits: float | None = float(balance.available_usd)
        except ProviderError:
            credits = None
        poll.stats.other_calls += 1
        if poll.is_known("") and "" not in known:
            known.update(await self.store.known_states(key, [""]))
        entry = known.get("")
        account = diff.account_change(
            key.provider, credits, poll.thresholds, entry[1] if entry else None
        )
        if account is None:
            return
        encoded = diff.encode_alerts(account.alerts)
        if entry is None:
            poll.new_states.append(StateRow("", account.name, "ok", encoded))
            poll.updates.append(StateUpdate("", 0, account.name, "ok", encoded, False))
        else:
            poll.updates.append(StateUpdate("", entry[1].seq, account.name, "ok", encoded, False))
        if account.triggered or account.recovered:
            poll.changes.append((account, None, entry[1] if entry else None))

    async def _outbox(self, poll: KeyPoll) -> list[OutboxRow]:
        """One notification per change and channel watching it."""
        outbox: list[OutboxRow] = []
        now_dt = datetime.fromtimestamp(self.clock(), UTC)
        provider = poll.key.provider
        for change, d, previous in poll.changes:
            channels = diff.channels_for(poll.watches, provider, change.deployment_id)
            if not channels:
                continue
            if d is not None and any(
                a in ("failed", "insufficient_funds") for a in change.triggered
            ):
                event = await self._latest_event(poll.client, d, poll.stats)
                if event:
                    change.details["event"] = event
            seq = (previous.seq if previous is not None else 0) + 1
            text, reply_blocks, card = _render(change, d, poll.client, provider, now_dt)
            for channel in channels:
                outbox.append(
                    OutboxRow(change.deployment_id, channel, seq, text, reply_blocks, card)
                )
        return outbox

    async def _latest_event(
        self, client: BaseProvider, deployment: Deployment, stats: PollStats
    ) -> str | None:
        if Capability.EVENTS not in client.capabilities:
            return None
        try:
            events = await client.events(deployment.id, limit=5)
        except ProviderError:
            return None
        finally:
            stats.other_calls += 1
        if not events:
            return None
        dated = [e for e in events if e.created_at is not None]
        latest = max(dated, key=lambda e: e.created_at) if dated else events[-1]  # type: ignore[arg-type,return-value]
        return latest.message or latest.type or None


def _render(
    change: Change,
    deployment: Deployment | None,
    client: BaseProvider,
    provider: str,
    now: datetime,
) -> tuple[str, str | None, str | None]:
    """(thread reply text, its blocks as JSON, the card as JSON) for one change."""
    lines = diff.change_lines(change, provider)
    if change.details.get("intro") and not change.triggered:
        lines = []  # the card alone says it: no thread reply
    title = escape(clip(change.name or change.deployment_id, 80))
    if change.deployment_id:
        text = "\n".join(lines)
    else:
        text = "\n".join(lines) or f"{PROVIDER_LABEL.get(provider, provider)} account"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 3000)}}
    ]
    if (
        deployment is not None
        and diff.wants_funds_button(change)
        and Capability.DEPOSIT in client.available_actions(deployment)
    ):
        blocks.append(
            {
                "type": "actions",
                "block_id": f"alert_{clip(deployment.id, 200)}",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Add funds"},
                        "action_id": "deployment_deposit",
                        "value": action_value(deployment, Capability.DEPOSIT),
                        "style": "primary",
                    }
                ],
            }
        )
    card: str | None = None
    if deployment is not None:
        card = json.dumps(
            deployment_card(deployment, allowed=client.available_actions(deployment), now=now)
        )
    elif change.deployment_id:
        card = json.dumps(
            [
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": f"*{title}*  `{escape(change.deployment_id)}`\n"
                        f"{PROVIDER_LABEL.get(provider, provider)}: no longer exists.",
                    },
                }
            ]
        )
    return text, json.dumps(blocks), card
