"""``views.*``: open and push modals, update them (by id or external id, with hash checks),
publish App Home tabs. Every view is kept in :attr:`Workspace.views`."""

from __future__ import annotations

import secrets

from bot.slack_local.fake_api.workspace import Json, Method, TokenInfo, Workspace


def _store_view(ws: Workspace, view: Json, auth: TokenInfo | None, previous: Json | None) -> Json:
    view_id = previous["id"] if previous else ws.next_id("V")
    stored: Json = {
        "id": view_id,
        "team_id": auth.team_id if auth else None,
        "type": view.get("type", "modal"),
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": f"h{secrets.token_hex(6)}",
        "title": view.get("title"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": previous.get("previous_view_id") if previous else None,
        "root_view_id": previous.get("root_view_id") if previous else view_id,
        "app_id": "A111",
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": auth.team_id if auth else None,
        "bot_id": auth.bot_id if auth else None,
    }
    ws.views[view_id] = stored
    return stored


def open_view(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    """``views.open`` and ``views.push``: a new view, for a trigger."""
    view = body.get("view")
    if not isinstance(view, dict) or not body.get("trigger_id"):
        return {"ok": False, "error": "invalid_arguments"}
    external_id = view.get("external_id")
    if external_id and any(v["external_id"] == external_id for v in ws.views.values()):
        return {"ok": False, "error": "duplicate_external_id"}
    return {"ok": True, "view": _store_view(ws, view, auth, None)}


def _find(ws: Workspace, body: Json) -> Json | None:
    if body.get("view_id"):
        return ws.views.get(body["view_id"])
    external_id = body.get("external_id")
    return next(
        (v for v in ws.views.values() if external_id and v["external_id"] == external_id),
        None,
    )


def update(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    view = body.get("view")
    if not isinstance(view, dict):
        return {"ok": False, "error": "invalid_arguments"}
    current = _find(ws, body)
    if current is None:
        return {"ok": False, "error": "not_found"}
    if body.get("hash") and body["hash"] != current["hash"]:
        return {"ok": False, "error": "hash_conflict"}
    if "external_id" not in view:
        view = {**view, "external_id": current["external_id"]}
    return {"ok": True, "view": _store_view(ws, view, auth, current)}


def publish(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    view = body.get("view")
    if not isinstance(view, dict) or not body.get("user_id"):
        return {"ok": False, "error": "invalid_arguments"}
    return {"ok": True, "view": _store_view(ws, {"type": "home", **view}, auth, None)}


METHODS: dict[str, Method] = {
    "views.open": open_view,
    "views.push": open_view,
    "views.update": update,
    "views.publish": publish,
}
