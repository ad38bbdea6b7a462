"""Socket Mode, faked: ``apps.connections.open`` and the WebSocket Slack pushes envelopes on.

:class:`FakeSocketModeSlack` is :class:`FakeSlackAPI` plus the Socket Mode side: the app opens
a connection with its app-level token, receives ``hello``, and every :meth:`send` pushes one
envelope (a slash command, an interaction or an event) and waits for the app's ack, as Slack
does, returning the ack's payload.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from aiohttp import WSMsgType, web

from bot.slack_local.fake_api import FakeSlackAPI, TokenInfo

Json = dict[str, Any]


class FakeSocketModeSlack(FakeSlackAPI):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._methods["apps.connections.open"] = self._apps_connections_open
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[Json]] = {}
        self._ids = itertools.count(1)
        self.connections = 0

    def app(self) -> web.Application:
        app = super().app()
        app.router.add_get("/socket", self._handle_socket)
        return app

    def _apps_connections_open(self, body: Json, auth: TokenInfo | None) -> Json:
        return {"ok": True, "url": f"ws://{self.host}:{self.port}/socket"}

    @property
    def connected(self) -> bool:
        return any(not ws.closed for ws in self._sockets)

    async def wait_connected(self, timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.connected:
            if loop.time() > deadline:
                raise AssertionError("the app did not open a Socket Mode connection")
            await asyncio.sleep(0.02)

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.connections += 1
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {}})
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            try:
                ack = json.loads(message.data)
            except ValueError:
                continue
            future = self._acks.pop(str(ack.get("envelope_id")), None)
            if future is not None and not future.done():
                future.set_result(ack)
        return ws

    async def send(self, kind: str, payload: Json, *, timeout: float = 5.0) -> Json:
        """Push one envelope (``slash_commands``, ``interactive`` or ``events_api``) and
        return the app's ack (``{"envelope_id": …, "payload": …}``)."""
        sockets = [ws for ws in self._sockets if not ws.closed]
        if not sockets:
            raise AssertionError("no Socket Mode connection is open")
        envelope_id = f"env-{next(self._ids)}"
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        await sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return await asyncio.wait_for(future, timeout)

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        await super().stop()
