"""An in-process fake of Slack's Web API (and of response URLs), served on loopback by aiohttp.

Point ``AsyncWebClient(base_url=slack.base_url)`` (or Bolt's client) at it; every call is
recorded as a :class:`SlackCall` and answered the way Slack answers: HTTP 200 with
``{"ok": true, …}`` or ``{"ok": false, "error": "…"}``, HTTP 429 with ``Retry-After`` when a
rate limit is injected with :meth:`FakeSlackAPI.fail_next`.

    async with FakeSlackAPI() as slack:
        slack.add_token("xoxb-test", "T111")
        client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
        await client.chat_postMessage(channel="C111", text="hi")
        [call] = slack.calls_to("chat.postMessage")

Tokens, users, OAuth codes and views live in plain dicts on the object; nothing runs in the
background and the server only ever binds a loopback address.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ipaddress
import json
import logging
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

__all__ = ["FakeSlackAPI", "SlackCall", "TokenInfo"]

log = logging.getLogger(__name__)

#: Form fields that Slack clients send as JSON strings; they are decoded when recorded.
FORM_JSON_FIELDS = frozenset(
    {"blocks", "attachments", "view", "metadata", "unfurls", "user_auth_blocks"}
)
#: Methods that need no bot token.
TOKENLESS_METHODS = frozenset({"oauth.v2.access", "oauth.access", "oauth.v2.exchange", "api.test"})
#: The first message ts handed out (``1700000000.000100``), in microseconds; each next one is +100.
FIRST_TS_MICROS = 1_700_000_000_000_100

Json = dict[str, Any]
CallListener = Callable[["SlackCall"], Awaitable[None] | None]


@dataclass
class SlackCall:
    """One request the fake received.

    ``body`` merges the query string with the parsed form or JSON body (form fields that hold
    JSON, such as ``blocks`` and ``view``, are decoded). ``headers`` has lower-case names.
    ``method`` is the Web API method, or ``"response_url"`` for a post to a response URL, whose
    key is then in ``response_url``. ``failed`` marks calls answered by an injected fault.
    """

    method: str
    token: str | None
    body: Json
    headers: dict[str, str]
    path: str
    response_url: str | None = None
    failed: bool = False
    http_method: str = "POST"
    #: What the fake answered (a JSON object, or the text for response URLs).
    response: Any = None


@dataclass
class TokenInfo:
    """A bot token the fake accepts and the install it belongs to."""

    token: str
    team_id: str
    bot_user_id: str = "UBOT"
    bot_id: str = "BBOT"
    team_name: str = "Test Workspace"
    enterprise_id: str | None = None


@dataclass
class _Fault:
    method: str
    status: int
    retry_after: int | None
    error: str | None
    times: int


@dataclass
class _OAuthCode:
    team_id: str
    team_name: str
    user_id: str
    bot_token: str
    bot_user_id: str
    scope: str
    enterprise_id: str | None


class FakeSlackAPI:
    """Slack's Web API and response URLs, faked on ``http://127.0.0.1:PORT``.

    With ``strict_tokens`` (the default) Web API calls need a token registered with
    :meth:`add_token` (``not_authed`` without one, ``invalid_auth`` for any other); when false
    any token is accepted as a bot of team ``T111``.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, strict_tokens: bool = True
    ) -> None:
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"FakeSlackAPI only binds loopback addresses, not {host!r}")
        self.host = host
        self.port = port
        self.strict_tokens = strict_tokens
        self.calls: list[SlackCall] = []
        self.on_call: CallListener | None = None
        self.tokens: dict[str, TokenInfo] = {}
        self.users: dict[str, Json] = {}
        self.views: dict[str, Json] = {}
        self._oauth_codes: dict[str, _OAuthCode] = {}
        self._faults: list[_Fault] = []
        self._dm_channels: dict[str, str] = {}
        #: User groups (``S…``) and their members, for ``usergroups.users.list``.
        self.usergroups: dict[str, list[str]] = {}
        #: Files uploaded with files.getUploadURLExternal + completeUploadExternal, by id.
        self.files: dict[str, Json] = {}
        self._ts = FIRST_TS_MICROS
        self._serial = 0
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, Callable[[Json, TokenInfo | None], Json]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "usergroups.users.list": self._usergroups_users_list,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "conversations.open": self._conversations_open,
            "oauth.v2.access": self._oauth_v2_access,
        }

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server root, ``http://127.0.0.1:PORT`` (known once started, for port 0)."""
        if self.port == 0:
            raise RuntimeError("FakeSlackAPI has no port yet: start() it first")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to give ``AsyncWebClient(base_url=...)``: ``http://127.0.0.1:PORT/api/``."""
        return f"{self.url}/api/"

    def app(self) -> web.Application:
        """The aiohttp application (routes ``/api/{method}`` and ``/webhook/{key}``)."""
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.add_routes(
            [
                web.route("*", "/api/{method}", self._handle_api),
                web.post("/webhook/{key}", self._handle_webhook),
                web.post("/upload/{file_id}", self._handle_upload),
            ]
        )
        return app

    async def start(self) -> FakeSlackAPI:
        """Serve on ``host:port`` (an ephemeral port when 0, then stored in ``self.port``)."""
        if self._runner is not None:
            return self
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeSlackAPI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- registries and faults ---------------------------------------------------------

    def add_token(
        self,
        token: str,
        team_id: str,
        *,
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        team_name: str = "Test Workspace",
        enterprise_id: str | None = None,
    ) -> TokenInfo:
        """Accept ``token`` as a bot token of ``team_id``."""
        info = TokenInfo(token, team_id, bot_user_id, bot_id, team_name, enterprise_id)
        self.tokens[token] = info
        return info

    def revoke_token(self, token: str) -> None:
        """Make ``token`` answer ``invalid_auth`` from now on."""
        self.tokens.pop(token, None)

    def add_user(
        self,
        user_id: str,
        *,
        team_id: str = "T111",
        name: str | None = None,
        real_name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        tz: str = "UTC",
    ) -> Json:
        """Make ``users.info`` know ``user_id``; returns the user object it will answer."""
        name = name or user_id.lower()
        user: Json = {
            "id": user_id,
            "team_id": team_id,
            "name": name,
            "real_name": real_name or name,
            "deleted": False,
            "is_bot": False,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "tz": tz,
            "profile": {"real_name": real_name or name, "display_name": name},
        }
        self.users[user_id] = user
        return user

    def add_usergroup(self, group_id: str, members: list[str]) -> None:
        """Make ``usergroups.users.list`` answer ``members`` for ``group_id``."""
        self.usergroups[group_id] = list(members)

    def add_oauth_code(
        self,
        code: str,
        *,
        team_id: str = "T111",
        team_name: str = "Test Workspace",
        user_id: str = "U111",
        bot_token: str | None = None,
        bot_user_id: str = "UBOT",
        scope: str = "commands,chat:write",
        enterprise_id: str | None = None,
    ) -> str:
        """Make ``oauth.v2.access`` exchange ``code`` (once, like Slack) for a bot install.

        The bot token (``xoxb-…``, generated unless given) is returned, and registered with
        :meth:`add_token` when the code is exchanged.
        """
        bot_token = bot_token or f"xoxb-{team_id}-{secrets.token_hex(12)}"
        self._oauth_codes[code] = _OAuthCode(
            team_id, team_name, user_id, bot_token, bot_user_id, scope, enterprise_id
        )
        return bot_token

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
        error: str | None = None,
    ) -> None:
        """Fail the next ``times`` calls to ``method`` (``"response_url"`` for webhooks).

        Status 429 answers with a ``Retry-After: retry_after`` header; status 200 answers
        ``{"ok": false, "error": error}``; any other status answers with that status. The
        calls are recorded with ``failed=True``.
        """
        self._faults.append(_Fault(method, status, retry_after, error, times))

    def response_url(self, key: str | None = None) -> str:
        """A response URL on this server; posts to it are recorded as ``"response_url"``."""
        return f"{self.url}/webhook/{key or secrets.token_hex(8)}"

    # -- inspection --------------------------------------------------------------------

    def calls_to(self, method: str, *, include_failed: bool = False) -> list[SlackCall]:
        """The calls to ``method`` in arrival order (without injected failures by default)."""
        return [c for c in self.calls if c.method == method and (include_failed or not c.failed)]

    async def wait_for(
        self, method: str, count: int = 1, timeout: float = 5.0, *, interval: float = 0.01
    ) -> list[SlackCall]:
        """Wait until ``count`` successful calls to ``method`` arrived; return all of them.

        Raises AssertionError (naming the methods seen) after ``timeout`` seconds.
        """
        for _ in range(max(1, int(timeout / interval)) + 1):
            found = self.calls_to(method)
            if len(found) >= count:
                return found
            await asyncio.sleep(interval)
        seen = Counter(c.method + (" (failed)" if c.failed else "") for c in self.calls)
        summary = ", ".join(f"{m} x{n}" for m, n in seen.items()) or "none"
        raise AssertionError(
            f"expected {count} {method} call(s) within {timeout}s, got "
            f"{len(self.calls_to(method))}; calls seen: {summary}"
        )

    def clear(self) -> None:
        """Forget the recorded calls (registries, views and faults stay)."""
        self.calls.clear()

    # -- HTTP --------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body, error = await _read_body(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        token = _bearer(headers) or body.get("token")
        call = SlackCall(method, token, body, headers, request.path, http_method=request.method)
        fault = self._take_fault(method)
        if fault is not None:
            call.failed = True
            payload: Json = {"ok": False, "error": fault.error or _fault_error(fault.status)}
            response = _json(payload, fault.status, _retry_headers(fault))
        else:
            payload = {"ok": False, "error": error} if error else self._answer(method, call)
            response = _json(payload)
        call.response = payload
        await self._record(call)
        return response

    async def _handle_webhook(self, request: web.Request) -> web.Response:
        body, _ = await _read_body(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        key = request.match_info["key"]
        call = SlackCall("response_url", None, body, headers, request.path, response_url=key)
        fault = self._take_fault("response_url")
        if fault is not None:
            call.failed = True
            text = fault.error or _fault_error(fault.status)
            response = web.Response(text=text, status=fault.status, headers=_retry_headers(fault))
        else:
            text = "ok"
            response = web.Response(text=text)
        call.response = text
        await self._record(call)
        return response

    async def _record(self, call: SlackCall) -> None:
        self.calls.append(call)
        if self.on_call is None:
            return
        try:
            result = self.on_call(call)
            if inspect.isawaitable(result):
                await result
        except Exception:  # a broken listener must not break the fake Slack
            log.exception("FakeSlackAPI.on_call listener failed for %s", call.method)

    def _take_fault(self, method: str) -> _Fault | None:
        fault = next((f for f in self._faults if f.method == method), None)
        if fault is not None:
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
        return fault

    def _answer(self, method: str, call: SlackCall) -> Json:
        auth: TokenInfo | None = None
        if method not in TOKENLESS_METHODS:
            token = call.token
            if token is None and self.strict_tokens:
                return {"ok": False, "error": "not_authed"}
            auth = self.tokens.get(token or "")
            if auth is None:
                if self.strict_tokens:
                    return {"ok": False, "error": "invalid_auth"}
                auth = TokenInfo(token or "", "T111")
        handler = self._methods.get(method)
        return handler(call.body, auth) if handler is not None else {"ok": True}

    # -- methods -----------------------------------------------------------------------

    def _next_ts(self) -> str:
        self._ts += 100
        ts = self._ts - 100
        return f"{ts // 1_000_000}.{ts % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial:08X}"

    def _auth_test(self, body: Json, auth: TokenInfo | None) -> Json:
        assert auth is not None
        domain = auth.team_name.lower().replace(" ", "-")
        return {
            "ok": True,
            "url": f"https://{domain}.slack.com/",
            "team": auth.team_name,
            "user": "deploybot",
            "team_id": auth.team_id,
            "user_id": auth.bot_user_id,
            "bot_id": auth.bot_id,
            "enterprise_id": auth.enterprise_id,
            "is_enterprise_install": False,
        }

    def _message(self, body: Json, auth: TokenInfo | None, ts: str) -> Json:
        message: Json = {"type": "message", "text": body.get("text") or "", "ts": ts}
        if auth is not None:
            message.update(user=auth.bot_user_id, bot_id=auth.bot_id)
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if body.get(key) is not None:
                message[key] = body[key]
        return message

    def _chat_post_message(self, body: Json, auth: TokenInfo | None) -> Json:
        if not body.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not (body.get("text") or body.get("blocks") or body.get("attachments")):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        message = self._message(body, auth, ts)
        return {"ok": True, "channel": body["channel"], "ts": ts, "message": message}

    def _chat_update(self, body: Json, auth: TokenInfo | None) -> Json:
        if not body.get("channel") or not body.get("ts"):
            return {"ok": False, "error": "message_not_found"}
        channel, ts = body["channel"], body["ts"]
        message = self._message(body, auth, ts)
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": message,
        }

    def _chat_post_ephemeral(self, body: Json, auth: TokenInfo | None) -> Json:
        if not body.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not body.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_delete(self, body: Json, auth: TokenInfo | None) -> Json:
        return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}

    def _store_view(self, view: Json, auth: TokenInfo | None, previous: Json | None) -> Json:
        view_id = previous["id"] if previous else self._next_id("V")
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
        self.views[view_id] = stored
        return stored

    def _views_open(self, body: Json, auth: TokenInfo | None) -> Json:
        view = body.get("view")
        if not isinstance(view, dict) or not body.get("trigger_id"):
            return {"ok": False, "error": "invalid_arguments"}
        external_id = view.get("external_id")
        if external_id and any(v["external_id"] == external_id for v in self.views.values()):
            return {"ok": False, "error": "duplicate_external_id"}
        return {"ok": True, "view": self._store_view(view, auth, None)}

    def _views_update(self, body: Json, auth: TokenInfo | None) -> Json:
        view = body.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        if body.get("view_id"):
            current = self.views.get(body["view_id"])
        else:
            external_id = body.get("external_id")
            current = next(
                (v for v in self.views.values() if external_id and v["external_id"] == external_id),
                None,
            )
        if current is None:
            return {"ok": False, "error": "not_found"}
        if body.get("hash") and body["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        if "external_id" not in view:
            view = {**view, "external_id": current["external_id"]}
        return {"ok": True, "view": self._store_view(view, auth, current)}

    def _views_publish(self, body: Json, auth: TokenInfo | None) -> Json:
        view = body.get("view")
        if not isinstance(view, dict) or not body.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": self._store_view({"type": "home", **view}, auth, None)}

    def _users_info(self, body: Json, auth: TokenInfo | None) -> Json:
        user = self.users.get(str(body.get("user", "")))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _users_list(self, body: Json, auth: TokenInfo | None) -> Json:
        """All known users, ``limit`` at a time (cursor = the next index)."""
        members = list(self.users.values())
        start = int(str(body.get("cursor") or "0") or 0)
        limit = max(1, min(int(body.get("limit") or 200), 1000))
        page = members[start : start + limit]
        more = start + limit < len(members)
        return {
            "ok": True,
            "members": page,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _usergroups_users_list(self, body: Json, auth: TokenInfo | None) -> Json:
        group = str(body.get("usergroup") or "")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _files_get_upload_url(self, body: Json, auth: TokenInfo | None) -> Json:
        if not body.get("filename") or not str(body.get("length") or "").isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = self._next_id("F")
        self.files[file_id] = {
            "id": file_id,
            "name": str(body["filename"]),
            "length": int(body["length"]),
            "content": None,
            "completed": False,
        }
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}

    def _files_complete_upload(self, body: Json, auth: TokenInfo | None) -> Json:
        raw = body.get("files")
        files = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        done = []
        for entry in files:
            stored = self.files.get(str(entry.get("id")))
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

    async def _handle_upload(self, request: web.Request) -> web.Response:
        stored = self.files.get(request.match_info["file_id"])
        if stored is None:
            return web.Response(status=404, text="not found")
        data = await request.read()
        if not data and request.content_type.startswith("multipart/"):
            data = b""
        stored["content"] = data
        return web.Response(text=f"OK - {len(data)}")

    def _conversations_open(self, body: Json, auth: TokenInfo | None) -> Json:
        key = str(body.get("users") or body.get("channel") or "")
        if not key:
            return {"ok": False, "error": "users_list_not_supplied"}
        channel_id = self._dm_channels.setdefault(key, self._next_id("D"))
        return {"ok": True, "channel": {"id": channel_id}}

    def _oauth_v2_access(self, body: Json, auth: TokenInfo | None) -> Json:
        grant = self._oauth_codes.pop(str(body.get("code", "")), None)
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        info = self.add_token(
            grant.bot_token,
            grant.team_id,
            bot_user_id=grant.bot_user_id,
            bot_id=f"B{grant.team_id}",
            team_name=grant.team_name,
            enterprise_id=grant.enterprise_id,
        )
        enterprise = (
            {"id": grant.enterprise_id, "name": "Enterprise"} if grant.enterprise_id else None
        )
        return {
            "ok": True,
            "app_id": "A111",
            "authed_user": {"id": grant.user_id},
            "scope": grant.scope,
            "token_type": "bot",
            "access_token": info.token,
            "bot_user_id": info.bot_user_id,
            "team": {"id": grant.team_id, "name": grant.team_name},
            "enterprise": enterprise,
            "is_enterprise_install": False,
        }


def _bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    if not value.lower().startswith("bearer "):
        return None
    return value[7:].strip() or None


async def _read_body(request: web.Request) -> tuple[Json, str | None]:
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
            body[key] = value if isinstance(value, str) else f"<file {value.filename}>"
    else:
        body.update(parse_qsl(await request.text(), keep_blank_values=True))
    for key in FORM_JSON_FIELDS & body.keys():
        if isinstance(body[key], str) and body[key][:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                body[key] = json.loads(body[key])
    return body, error


def _fault_error(status: int) -> str:
    return {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}.get(
        status, "fatal_error"
    )


def _retry_headers(fault: _Fault) -> dict[str, str]:
    if fault.status == 429 and fault.retry_after is not None:
        return {"Retry-After": str(fault.retry_after)}
    return {}


def _json(data: Json, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(data), status=status, content_type="application/json", headers=headers
    )
