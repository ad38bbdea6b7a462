"""People: ``users.info``, ``users.list``, ``usergroups.users.list`` and the DM channels of
``conversations.open``."""

from __future__ import annotations

from bot.slack_local.fake_api.workspace import Json, Method, TokenInfo, Workspace


def users_info(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    user = ws.users.get(str(body.get("user", "")))
    return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}


def users_list(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    """All known users, ``limit`` at a time (cursor = the next index)."""
    members = list(ws.users.values())
    start = int(str(body.get("cursor") or "0") or 0)
    limit = max(1, min(int(body.get("limit") or 200), 1000))
    page = members[start : start + limit]
    more = start + limit < len(members)
    return {
        "ok": True,
        "members": page,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def usergroups_users_list(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    group = str(body.get("usergroup") or "")
    if group not in ws.usergroups:
        return {"ok": False, "error": "no_such_subteam"}
    return {"ok": True, "users": list(ws.usergroups[group])}


def conversations_open(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    """The same DM channel id every time for the same users."""
    key = str(body.get("users") or body.get("channel") or "")
    if not key:
        return {"ok": False, "error": "users_list_not_supplied"}
    channel_id = ws.dm_channels.setdefault(key, ws.next_id("D"))
    return {"ok": True, "channel": {"id": channel_id}}


METHODS: dict[str, Method] = {
    "users.info": users_info,
    "users.list": users_list,
    "usergroups.users.list": usergroups_users_list,
    "conversations.open": conversations_open,
}
