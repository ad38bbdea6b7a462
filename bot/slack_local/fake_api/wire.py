"""Reading requests and writing answers the way Slack's Web API does."""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

Json = dict[str, Any]

#: Form fields that Slack clients send as JSON strings; they are decoded when recorded.
FORM_JSON_FIELDS = frozenset(
    {"blocks", "attachments", "view", "metadata", "unfurls", "user_auth_blocks", "outputs"}
)


def lower_headers(request: web.Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def bearer(headers: dict[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer …`` header (lower-case header names)."""
    value = headers.get("authorization", "")
    if not value.lower().startswith("bearer "):
        return None
    return value[7:].strip() or None


async def read_body(request: web.Request) -> tuple[Json, str | None]:
    """The query string plus the JSON or form body; the error Slack would give, if any."""
    body: Json = dict(request.query)
    error: str | None = None
    if request.content_type == "application/json":
        text = await request.text()
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError:
            data, error = {}, "invalid_json"
        body.update(data if isinstance(data, dict) else {"_json": data})
    elif request.content_type == "multipart/form-data":
        for key, value in (await request.post()).items():
            body[key] = _form_value(value)
    else:
        body.update(parse_qsl(await request.text(), keep_blank_values=True))
    for key in FORM_JSON_FIELDS & body.keys():
        if isinstance(body[key], str) and body[key][:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                body[key] = json.loads(body[key])
    return body, error


def _form_value(value: str | bytes | bytearray | web.FileField) -> str:
    """A multipart field as recorded: its text, or ``<file NAME>`` for an uploaded file."""
    if isinstance(value, web.FileField):
        return f"<file {value.filename}>"
    if isinstance(value, str):
        return value
    return bytes(value).decode(errors="replace")


def json_response(
    data: Json, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=json.dumps(data), status=status, content_type="application/json", headers=headers
    )
