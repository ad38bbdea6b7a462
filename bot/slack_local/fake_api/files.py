"""Files, uploaded Slack's external way: ``files.getUploadURLExternal``, a POST of the bytes
to the URL it gives, then ``files.completeUploadExternal``."""

from __future__ import annotations

import json

from bot.slack_local.fake_api.workspace import Json, Method, TokenInfo, Workspace


def get_upload_url(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    if not body.get("filename") or not str(body.get("length") or "").isdigit():
        return {"ok": False, "error": "invalid_arguments"}
    file_id = ws.next_id("F")
    ws.files[file_id] = {
        "id": file_id,
        "name": str(body["filename"]),
        "length": int(body["length"]),
        "content": None,
        "completed": False,
    }
    return {"ok": True, "file_id": file_id, "upload_url": f"{ws.upload_root()}/{file_id}"}


def store_upload(ws: Workspace, file_id: str, data: bytes) -> bool:
    """Keep the uploaded bytes of ``file_id``; False when no upload URL was handed out for it."""
    stored = ws.files.get(file_id)
    if stored is None:
        return False
    stored["content"] = data
    return True


def complete_upload(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    raw = body.get("files")
    files = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(files, list) or not files:
        return {"ok": False, "error": "invalid_arguments"}
    done = []
    for entry in files:
        stored = ws.files.get(str(entry.get("id")))
        if stored is None or stored["content"] is None:
            return {"ok": False, "error": "file_not_found"}
        stored.update(
            completed=True,
            title=entry.get("title"),
            channel=body.get("channel_id"),
            initial_comment=body.get("initial_comment"),
        )
        done.append({"id": stored["id"], "name": stored["name"], "title": entry.get("title")})
    return {"ok": True, "files": done}


METHODS: dict[str, Method] = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}
