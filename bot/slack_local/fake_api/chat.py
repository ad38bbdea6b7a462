"""``chat.*``: post, update, post ephemerally and delete messages."""

from __future__ import annotations

from bot.slack_local.fake_api.workspace import Json, Method, TokenInfo, Workspace


def _message(body: Json, auth: TokenInfo | None, ts: str) -> Json:
    message: Json = {"type": "message", "text": body.get("text") or "", "ts": ts}
    if auth is not None:
        message.update(user=auth.bot_user_id, bot_id=auth.bot_id)
    for key in ("blocks", "attachments", "thread_ts", "metadata"):
        if body.get(key) is not None:
            message[key] = body[key]
    return message


def post_message(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    if not body.get("channel"):
        return {"ok": False, "error": "channel_not_found"}
    if not (body.get("text") or body.get("blocks") or body.get("attachments")):
        return {"ok": False, "error": "no_text"}
    ts = ws.next_ts()
    message = _message(body, auth, ts)
    return {"ok": True, "channel": body["channel"], "ts": ts, "message": message}


def update(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    if not body.get("channel") or not body.get("ts"):
        return {"ok": False, "error": "message_not_found"}
    channel, ts = body["channel"], body["ts"]
    message = _message(body, auth, ts)
    return {"ok": True, "channel": channel, "ts": ts, "text": message["text"], "message": message}


def post_ephemeral(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    if not body.get("channel"):
        return {"ok": False, "error": "channel_not_found"}
    if not body.get("user"):
        return {"ok": False, "error": "user_not_in_channel"}
    return {"ok": True, "message_ts": ws.next_ts()}


def delete(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}


METHODS: dict[str, Method] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.postEphemeral": post_ephemeral,
    "chat.delete": delete,
}
