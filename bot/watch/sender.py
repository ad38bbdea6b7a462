"""The sender: delivers the outbox to Slack, one channel at a time, paced, exactly once.

For each channel with notifications due, one replica claims the channel (a lease row) and:

* per deployment, **edits its one message in place** (``chat.update``) with the newest card
  (posting it first when the channel has none yet, and remembering its ``ts`` in the database so
  every replica edits the same message): a burst of changes makes one edit;
* posts **one thread reply per change** ("running → stopping, by @ana via /deploy stop");
* does every deployment's card first and the thread replies after them, so when several
  deployments changed at once each one's card shows it without waiting for the others' replies;
* paces new messages as Slack limits ``chat.postMessage`` per channel: about one a second on
  average, with short bursts allowed (``burst`` posts at once, then one every ``pace`` seconds;
  a generic cell-rate rule: the channel's ``next_post_at`` in the database, kept with the
  channel lease, is when its allowance is used up, and a post may go ``(burst - 1) * pace``
  before that); edits (``chat.update``) are not paced;
* on HTTP 429 it honours ``Retry-After``: the channel's rows wait that long (nothing is lost);
  other failures retry with backoff and are dropped after ``max_attempts`` (or at once when the
  channel is gone or the app was removed from it).

The crash window. A replica can die after Slack accepted a post and before the database
recorded it; on restart that post would be made again. deploybot prefers a rare duplicate to a
lost notification: rows are marked sent right after each successful call (the window is one
database round trip), the card's ``ts`` is stored before any thread reply, and every post carries
its de-duplication key in Slack message metadata (``deploybot_notification``), so a duplicate
can be told apart. Marking rows sent *before* posting would make the opposite choice (a crash
would lose the notification), which is worse for alerts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.db.watch.outbox_store import Pending
from bot.db.watch.store import WatchStore

log = logging.getLogger(__name__)

#: Channels one sender delivers to at the same time.
CHANNELS_AT_ONCE = 8

TokenSource = Callable[[str, str], Awaitable[str | None]]
#: Slack errors after which retrying cannot help.
FATAL = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "not_authed",
        "missing_scope",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "restricted_action",
    }
)
#: Waiting for the channel's pacing longer than this ends the channel's turn (it stays due).
MAX_PACE_WAIT = 5.0
#: New messages a channel may get at once before the one-a-second pace applies (Slack
#: tolerates short bursts over its per-channel limit; a 429 still defers the channel).
BURST = 3


class _Deferred(Exception):
    def __init__(self, until: float, reason: str) -> None:
        super().__init__(reason)
        self.until = until
        self.reason = reason


class Sender:
    def __init__(
        self,
        store: WatchStore,
        tokens: TokenSource,
        clients: Callable[[str], AsyncWebClient],
        *,
        owner: str | None = None,
        pace: float = 1.0,
        burst: int = BURST,
        channel_ttl: float = 60.0,
        max_attempts: int = 8,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.tokens = tokens
        #: The client for a bot token (bot/slack_gateway.py): it must not sleep on a 429, the
        #: sender defers the channel's rows by Retry-After instead of holding it.
        self.clients = clients
        self.owner = owner or f"sender-{uuid.uuid4().hex[:12]}"
        self.pace = pace
        self.burst = max(1, burst)
        self.channel_ttl = channel_ttl
        self.max_attempts = max_attempts
        self.clock = clock
        self.sleep = sleep

    async def send_once(self) -> int:
        """Deliver what is due now; the number of outbox rows delivered.

        Channels are delivered side by side (each is paced on its own, so one channel's
        pacing never holds another's notifications back), at most ``CHANNELS_AT_ONCE``.
        """
        slots = asyncio.Semaphore(CHANNELS_AT_ONCE)

        async def one(enterprise_id: str, team_id: str, channel_id: str) -> int:
            async with slots:
                return await self._deliver(enterprise_id, team_id, channel_id)

        due = await self.store.due_channels()
        return sum(await asyncio.gather(*(one(*where) for where in due)))

    async def _deliver(self, enterprise_id: str, team_id: str, channel_id: str) -> int:
        next_post = await self.store.claim_channel(
            enterprise_id, team_id, channel_id, self.owner, self.channel_ttl
        )
        if next_post is None:
            return 0  # another replica is delivering to this channel
        # A turn ends well before the channel lease does, so no other replica can take
        # the channel over while this one is still posting.
        state = {"next_post": next_post, "deadline": self.clock() + self.channel_ttl / 2}
        try:
            return await self._channel(enterprise_id, team_id, channel_id, state)
        finally:
            await self.store.release_channel(
                enterprise_id, team_id, channel_id, self.owner, next_post_at=state["next_post"]
            )

    async def _channel(
        self, enterprise_id: str, team_id: str, channel_id: str, state: dict[str, float]
    ) -> int:
        rows = await self.store.pending_for_channel(enterprise_id, team_id, channel_id)
        if not rows:
            return 0
        token = await self.tokens(enterprise_id, team_id)
        if not token:
            await self.store.drop([r.id for r in rows], error="no bot token for the workspace")
            metrics.NOTIFICATIONS_DROPPED.labels("no_token").inc(len(rows))
            return 0
        client = self.clients(token)
        groups: dict[tuple[str, str], list[Pending]] = {}
        for row in rows:
            groups.setdefault((row.provider, row.deployment_id), []).append(row)
        #: Rows delivered or dropped this turn (the others wait when the turn is cut short).
        done: set[int] = set()
        delivered = 0
        try:
            cards: list[tuple[_Where, list[Pending], str]] = []
            for (provider, deployment_id), group in groups.items():
                where = _Where(enterprise_id, team_id, channel_id, provider, deployment_id)
                if not deployment_id:  # an account notice: a message of its own
                    delivered += await self._notices(client, where, group, state, done)
                    continue
                ts = await self._card(client, where, group, state)
                if ts is None:  # dropped (a fatal error)
                    done.update(r.id for r in group)
                else:
                    cards.append((where, group, ts))
            for where, group, ts in cards:
                delivered += await self._replies(client, where, group, ts, state=state, done=done)
        except _Deferred as deferred:
            metrics.NOTIFICATIONS_RETRIED.labels(deferred.reason).inc()
            await self.store.defer(
                [r.id for r in rows if r.id not in done],
                until=deferred.until,
                error=deferred.reason,
            )
            # Slack asked to slow down: from ``until`` on, one post at a time, no burst.
            state["next_post"] = max(
                state["next_post"], deferred.until + (self.burst - 1) * self.pace
            )
        except _Paced:
            pass  # the channel's turn is over; its rows stay due
        return delivered

    async def _pace(self, state: dict[str, float]) -> None:
        """Wait for the channel's allowance of new messages (see the module's docstring)."""
        wait = state["next_post"] - (self.burst - 1) * self.pace - self.clock()
        if wait > MAX_PACE_WAIT or self.clock() + max(wait, 0) > state["deadline"]:
            # Wait for the next turn (the channel stays due) rather than outlive the lease.
            raise _Paced
        if wait > 0:
            await self.sleep(wait)
        state["next_post"] = max(self.clock(), state["next_post"]) + self.pace

    async def _call(
        self,
        client: AsyncWebClient,
        method: str,
        rows: list[Pending],
        *,
        tolerate: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        """One Slack call; None when the rows were dropped (a fatal error); the error answer
        itself for the ``tolerate``d errors."""
        try:
            response = await client.api_call(method, json=kwargs)
            return dict(response.data) if isinstance(response.data, dict) else {}
        except SlackApiError as exc:
            status = exc.response.status_code
            error = str(exc.response.get("error") or f"http_{status}")
            if error in tolerate:
                return {"ok": False, "error": error}
            if status == 429:
                retry_after = _retry_after(exc.response.headers)
                raise _Deferred(self.clock() + retry_after, "rate_limited") from None
            attempts = min(r.attempts for r in rows) + 1
            if error in FATAL or attempts >= self.max_attempts:
                log.warning("dropping %d notification(s): %s", len(rows), error)
                await self.store.drop([r.id for r in rows], error=error)
                metrics.NOTIFICATIONS_DROPPED.labels(error if error in FATAL else "retries").inc(
                    len(rows)
                )
                return None
            raise _Deferred(self.clock() + min(300.0, 2.0**attempts), "slack_error") from None
        except (TimeoutError, OSError) as exc:
            log.info("Slack call failed (%s); retrying later", type(exc).__name__)
            attempts = min(r.attempts for r in rows) + 1
            raise _Deferred(self.clock() + min(300.0, 2.0**attempts), "network") from None

    async def _notices(
        self,
        client: AsyncWebClient,
        where: _Where,
        group: list[Pending],
        state: dict[str, float],
        done: set[int],
    ) -> int:
        """Account notices (credits): one message each."""
        delivered = 0
        for row in group:
            await self._pace(state)
            if await self._call(client, "chat.postMessage", [row], **_post(row, where.channel_id)):
                metrics.NOTIFICATIONS_SENT.labels("post").inc()
                delivered += await self.store.mark_sent([row.id])
            done.add(row.id)
        return delivered

    async def _card(
        self,
        client: AsyncWebClient,
        where: _Where,
        group: list[Pending],
        state: dict[str, float],
    ) -> str | None:
        """Show a deployment's newest card: edit its message, or post one; its ``ts`` (None:
        the rows were dropped)."""
        channel_id = where.channel_id
        card_row = next((r for r in reversed(group) if r.card), None)
        card = json.loads(card_row.card) if card_row and card_row.card else None
        fallback = _fallback(group[-1])
        ts = await self.store.message_ts(*where.message_key)
        replace = False
        if ts is not None and card is not None:
            updated = await self._call(
                client,
                "chat.update",
                group,
                tolerate=frozenset({"message_not_found", "cant_update_message"}),
                channel=channel_id,
                ts=ts,
                text=fallback,
                blocks=card,
            )
            if updated is None:
                return None
            if updated.get("ok") is False:  # someone deleted the message: post a new one
                ts, replace = None, True
            else:
                metrics.NOTIFICATIONS_SENT.labels("update").inc()
        if ts is None:
            await self._pace(state)
            posted = await self._call(
                client,
                "chat.postMessage",
                group,
                channel=channel_id,
                text=fallback,
                blocks=card or _section(fallback),
                unfurl_links=False,
                metadata=_metadata(group[0], "card"),
            )
            if posted is None:
                return None
            metrics.NOTIFICATIONS_SENT.labels("post").inc()
            await self.store.save_message_ts(
                *where.message_key, ts=str(posted.get("ts") or ""), replace=replace
            )
            ts = await self.store.message_ts(*where.message_key)
        return ts or ""

    async def _replies(
        self,
        client: AsyncWebClient,
        where: _Where,
        group: list[Pending],
        ts: str,
        *,
        state: dict[str, float],
        done: set[int],
    ) -> int:
        """One thread reply per change under the deployment's card."""
        delivered = 0
        for row in group:
            if not row.text:  # a card without a thread reply (a newly watched deployment)
                delivered += await self.store.mark_sent([row.id])
                done.add(row.id)
                continue
            await self._pace(state)
            body = _post(row, where.channel_id)
            body["thread_ts"] = ts
            replied = await self._call(client, "chat.postMessage", [row], **body)
            done.add(row.id)
            if replied is None:
                continue
            metrics.NOTIFICATIONS_SENT.labels("reply").inc()
            delivered += await self.store.mark_sent([row.id])
        return delivered

    async def aclose(self) -> None:
        """Nothing of its own to close (the gateway keeps the clients)."""


@dataclass(frozen=True)
class _Where:
    enterprise_id: str
    team_id: str
    channel_id: str
    provider: str
    deployment_id: str

    @property
    def message_key(self) -> tuple[str, str, str, str, str]:
        return (
            self.enterprise_id,
            self.team_id,
            self.provider,
            self.deployment_id,
            self.channel_id,
        )


class _Paced(Exception):
    """The channel must wait longer than a turn allows before its next post."""


def _retry_after(headers: Any) -> float:
    value = None
    if headers is not None:
        for name in ("Retry-After", "retry-after"):
            raw = headers.get(name)
            if raw:
                value = raw[0] if isinstance(raw, list) else raw
                break
    try:
        return max(1.0, float(value)) if value is not None else 1.0
    except (TypeError, ValueError):
        return 1.0


def _section(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]


def _fallback(row: Pending) -> str:
    first = row.text.split("\n", 1)[0]
    return first[:300] or "Deployment status (deploybot)"


def _metadata(row: Pending, kind: str) -> dict[str, Any]:
    return {
        "event_type": "deploybot_notification",
        "event_payload": {
            "key": f"{row.team_id}:{row.provider}:{row.deployment_id}:{row.channel_id}:{row.seq}",
            "kind": kind,
        },
    }


def _post(row: Pending, channel_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": channel_id,
        "text": row.text[:3000],
        "unfurl_links": False,
        "metadata": _metadata(row, "reply"),
    }
    if row.reply_blocks:
        body["blocks"] = json.loads(row.reply_blocks)
    return body
