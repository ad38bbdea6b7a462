"""What services need from Slack: who someone is, and posting, editing, DMs and files.

One :class:`SlackIO` wraps the Web API client of one workspace (the request's client in a
listener; the installation's token in background work). Directory lookups are cached for a
minute per process: it is a cache, not state, and a role change in Slack shows up soon enough.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.replies import Reply

log = logging.getLogger("deploybot.slack")


@dataclass
class DirectoryCache:
    ttl: float = 60.0
    _entries: dict[tuple[str, ...], tuple[float, object]] = field(default_factory=dict)

    def get(self, key: tuple[str, ...]) -> object | None:
        hit = self._entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: tuple[str, ...], value: object) -> None:
        if len(self._entries) > 50_000:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, value)


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str


class SlackIO:
    def __init__(self, client: AsyncWebClient, cache: DirectoryCache, team_id: str = "") -> None:
        self.client = client
        self.cache = cache
        self.team_id = team_id

    # -- directory -----------------------------------------------------------------------------

    async def is_slack_admin(self, user_id: str) -> bool:
        """Slack's own ``is_admin``/``is_owner`` (False when the lookup fails)."""
        key = ("admin", self.team_id, user_id)
        cached = self.cache.get(key)
        if isinstance(cached, bool):
            return cached
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as exc:
            log.info("users.info failed: %s", exc.response.get("error"))
            return False
        user = response.get("user") or {}
        admin = bool(
            not user.get("deleted")
            and (user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        )
        self.cache.put(key, admin)
        return admin

    async def tz_offset(self, user_id: str) -> int:
        """The person's Slack time zone, in seconds east of UTC (0 when unknown)."""
        key = ("tz", self.team_id, user_id)
        cached = self.cache.get(key)
        if isinstance(cached, int):
            return cached
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as exc:
            log.info("users.info failed: %s", exc.response.get("error"))
            return 0
        user = response.get("user") or {}
        try:
            offset = int(user.get("tz_offset") or 0)
        except (TypeError, ValueError):
            offset = 0
        self.cache.put(key, offset)
        return offset

    async def group_members(self, group_id: str) -> frozenset[str]:
        key = ("group", self.team_id, group_id)
        cached = self.cache.get(key)
        if isinstance(cached, frozenset):
            return cached
        try:
            response = await self.client.usergroups_users_list(usergroup=group_id)
            members = frozenset(str(u) for u in response.get("users") or [])
        except SlackApiError as exc:
            log.info("usergroups.users.list failed: %s", exc.response.get("error"))
            members = frozenset()
        self.cache.put(key, members)
        return members

    async def groups_of(self, user_id: str, candidates: set[str]) -> frozenset[str]:
        """Which of ``candidates`` (user group ids) the person belongs to."""
        found: set[str] = set()
        for group in sorted(candidates):
            if user_id in await self.group_members(group):
                found.add(group)
        return frozenset(found)

    async def slack_admins(self, limit: int = 1000) -> list[str]:
        """Workspace admins and owners (people, not bots), for DMs about approvals."""
        key = ("admins", self.team_id)
        cached = self.cache.get(key)
        if isinstance(cached, list):
            return cached
        admins: list[str] = []
        cursor: str | None = None
        try:
            for _ in range(20):
                response = await self.client.users_list(cursor=cursor, limit=200)
                for user in response.get("members") or []:
                    if user.get("deleted") or user.get("is_bot"):
                        continue
                    if user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"):
                        admins.append(str(user["id"]))
                cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor or len(admins) >= limit:
                    break
        except SlackApiError as exc:
            log.info("users.list failed: %s", exc.response.get("error"))
        self.cache.put(key, admins)
        return admins

    # -- messages ------------------------------------------------------------------------------

    async def post(
        self, channel: str, reply: Reply, *, thread_ts: str | None = None
    ) -> Posted | None:
        try:
            response = await self.client.chat_postMessage(
                channel=channel, text=reply.text, blocks=reply.blocks or None, thread_ts=thread_ts
            )
        except SlackApiError as exc:
            log.info("chat.postMessage failed: %s", exc.response.get("error"))
            return None
        return Posted(str(response.get("channel") or channel), str(response.get("ts")))

    async def update(self, channel: str, ts: str, reply: Reply) -> bool:
        try:
            await self.client.chat_update(
                channel=channel, ts=ts, text=reply.text, blocks=reply.blocks or []
            )
        except SlackApiError as exc:
            log.info("chat.update failed: %s", exc.response.get("error"))
            return False
        return True

    async def dm(self, user_id: str, reply: Reply) -> bool:
        return await self.post(user_id, reply) is not None

    async def ephemeral(self, channel: str | None, user_id: str, text: str) -> None:
        """Tell one person: an ephemeral note in the channel, else a direct message."""
        if channel:
            try:
                await self.client.chat_postEphemeral(channel=channel, user=user_id, text=text)
                return
            except SlackApiError:
                pass
        await self.dm(user_id, Reply(text=text))

    async def upload(
        self, channel: str, *, filename: str, content: bytes, title: str, comment: str
    ) -> bool:
        try:
            await self.client.files_upload_v2(
                channel=channel,
                filename=filename,
                content=content,
                title=title,
                initial_comment=comment,
            )
        except SlackApiError as exc:
            log.info("file upload failed: %s", exc.response.get("error"))
            return False
        return True


__all__ = ["DirectoryCache", "Posted", "SlackIO"]
