"""The aiohttp server: routes, token checks, fault injection and dispatch to the method families."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from functools import partial

from aiohttp import web

from bot.slack_local.fake_api import auth, chat, files, functions, people, views
from bot.slack_local.fake_api.faults import Fault, FaultQueue
from bot.slack_local.fake_api.records import CallLog, PayloadCheck, Rejection, SlackCall
from bot.slack_local.fake_api.wire import bearer, json_response, lower_headers, read_body
from bot.slack_local.fake_api.workspace import Json, TokenInfo, Workspace

#: Methods that need no bot token.
TOKENLESS_METHODS = frozenset({"oauth.v2.access", "oauth.access", "oauth.v2.exchange", "api.test"})
#: The method families; a method none of them knows answers ``{"ok": true}``.
FAMILIES = (
    auth.METHODS,
    chat.METHODS,
    views.METHODS,
    people.METHODS,
    files.METHODS,
    functions.METHODS,
)

BoundMethod = Callable[[Json, TokenInfo | None], Json]


class FakeSlackAPI(Workspace, CallLog):
    """Slack's Web API and response URLs, faked on ``http://127.0.0.1:PORT``.

    With ``strict_tokens`` (the default) Web API calls need a token registered with
    :meth:`add_token` (``not_authed`` without one, ``invalid_auth`` for any other); when false
    any token is accepted as a bot of team ``T111``.

    ``payload_check``, when set, judges every message, view and response-URL post the way Slack
    does: a payload it rejects is answered with Slack's error (``{"ok": false, "error":
    "invalid_blocks", "response_metadata": {"messages": […]}}``; HTTP 400 for a response URL)
    and kept in :attr:`rejections`.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, strict_tokens: bool = True
    ) -> None:
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"FakeSlackAPI only binds loopback addresses, not {host!r}")
        Workspace.__init__(self, upload_root=lambda: f"{self.url}/upload")
        CallLog.__init__(self)
        self.host = host
        self.port = port
        self.strict_tokens = strict_tokens
        self.payload_check: PayloadCheck | None = None
        self.rejections: list[SlackCall] = []
        self._faults = FaultQueue()
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, BoundMethod] = {
            name: partial(method, self) for family in FAMILIES for name, method in family.items()
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

    # -- faults and response URLs -----------------------------------------------------

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
        self._faults.add(Fault(method, status, retry_after, error, times))

    def response_url(self, key: str | None = None) -> str:
        """A response URL on this server; posts to it are recorded as ``"response_url"``."""
        return f"{self.url}/webhook/{key or secrets.token_hex(8)}"

    # -- HTTP --------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body, error = await read_body(request)
        headers = lower_headers(request)
        token = bearer(headers) or body.get("token")
        call = SlackCall(method, token, body, headers, request.path, http_method=request.method)
        fault = self._faults.take(method)
        if fault is not None:
            call.failed = True
            payload: Json = {"ok": False, "error": fault.error_code}
            response = json_response(payload, fault.status, fault.headers)
        else:
            payload = {"ok": False, "error": error} if error else self._answer(method, call)
            response = json_response(payload)
        call.response = payload
        await self.record(call)
        return response

    async def _handle_webhook(self, request: web.Request) -> web.Response:
        body, _ = await read_body(request)
        key = request.match_info["key"]
        call = SlackCall(
            "response_url", None, body, lower_headers(request), request.path, response_url=key
        )
        fault = self._faults.take("response_url")
        rejection = None if fault is not None else self._judge(call)
        if fault is not None:
            call.failed = True
            text = fault.error_code
            response = web.Response(text=text, status=fault.status, headers=fault.headers)
        elif rejection is not None:
            text = rejection.error
            response = web.Response(text=text, status=400)
        else:
            text = "ok"
            response = web.Response(text=text)
        call.response = text
        await self.record(call)
        return response

    async def _handle_upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self.files:
            return web.Response(status=404, text="not found")
        data = await request.read()
        files.store_upload(self, file_id, data)
        return web.Response(text=f"OK - {len(data)}")

    def _authorize(self, token: str | None) -> TokenInfo | str:
        """The install ``token`` belongs to, or the error Slack answers with."""
        if token is None and self.strict_tokens:
            return "not_authed"
        info = self.tokens.get(token or "")
        if info is not None:
            return info
        return "invalid_auth" if self.strict_tokens else TokenInfo(token or "", "T111")

    def _judge(self, call: SlackCall) -> Rejection | None:
        """The ``payload_check``'s verdict on ``call``, recorded on it when a rejection."""
        if self.payload_check is None:
            return None
        rejection = self.payload_check(call.method, call.body)
        if rejection is not None:
            call.failed = True
            call.rejected = rejection
            self.rejections.append(call)
        return rejection

    def _answer(self, method: str, call: SlackCall) -> Json:
        caller: TokenInfo | None = None
        if method not in TOKENLESS_METHODS:
            found = self._authorize(call.token)
            if isinstance(found, str):
                return {"ok": False, "error": found}
            caller = found
        rejection = self._judge(call)
        if rejection is not None:
            return {
                "ok": False,
                "error": rejection.error,
                "response_metadata": {"messages": list(rejection.messages)},
            }
        handler = self._methods.get(method)
        return handler(call.body, caller) if handler is not None else {"ok": True}
