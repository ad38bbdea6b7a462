"""What every sandbox emulator shares: the clock, fault injection, a request log, serving.

Each emulator is a subclass of :class:`SandboxAPI` that adds its routes in ``routes()`` and
keeps its world in plain Python objects. The world is advanced lazily: every request first
calls ``advance()``, which plays the state machine forward to ``clock.now()``. So tests drive
time with a :class:`ManualClock` and no background task runs anywhere.

Control endpoints (for out-of-process use; the tests usually call the object directly):

* ``POST /_sandbox/advance`` ``{"seconds": n}`` moves a manual or scaled clock forward;
* ``POST /_sandbox/faults`` ``{"method", "path", "status", "body", "headers", "delay", "times",
  "garble"}`` makes the next matching requests fail (or stall) that way; with ``garble``
  (``"malformed"``, ``"empty"`` or ``"no_envelope"``) the request is carried out and then
  answered with garbage (see :data:`GARBLE_MODES`);
* ``GET /_sandbox/requests`` lists the requests served (method, path, status).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.clock import Clock, ManualClock

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + out


def random_pubkey(rng: Any = None) -> str:
    """A random Solana-style address (base58 of 32 bytes, 43–44 characters)."""
    while True:
        raw = rng.randbytes(32) if rng is not None else secrets.token_bytes(32)
        key = b58encode(raw)
        if 43 <= len(key) <= 44:
            return key


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=json.dumps(data),
        status=status,
        content_type="application/json",
        headers=headers,
    )


#: "Process the request, then answer garbage": how a successful answer is spoiled.
#: ``malformed``: the real JSON cut in half; ``empty``: no body at all; ``no_envelope``: a JSON
#: object without any of the real answer's fields. The status stays (a 204 becomes 200, which
#: cannot carry a body). Error answers (4xx/5xx) pass unchanged: nothing was carried out.
GARBLE_MODES = ("malformed", "empty", "no_envelope")
NO_ENVELOPE_BODY = {"result": "ok"}


@dataclass
class Fault:
    """Make matching requests fail: an HTTP answer (status/body/headers) and/or a stall;
    or, with ``garble``, carry them out and then answer garbage (``status`` is not used)."""

    method: str = "*"
    path: str = ".*"
    status: int | None = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int = 1
    garble: str | None = None

    def __post_init__(self) -> None:
        if self.garble is not None and self.garble not in GARBLE_MODES:
            raise ValueError(f"garble must be one of {', '.join(GARBLE_MODES)}")

    def matches(self, request: web.Request) -> bool:
        return (self.method == "*" or self.method.upper() == request.method) and bool(
            re.fullmatch(self.path, request.path)
        )


@dataclass
class RequestRecord:
    method: str
    path: str
    query: str
    status: int


class SandboxAPI:
    """Base of the three emulators."""

    #: Provider name, used in the ``deploybot sandbox`` output.
    name: str = ""
    #: Path prefix of the API (Nosana's dashboard API lives under ``/api``).
    prefix: str = ""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or ManualClock()
        self.faults: list[Fault] = []
        self.requests: list[RequestRecord] = []
        #: Told after each request is served (the world may have changed): e.g. to save it.
        self.on_request: Callable[[], None] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """The world only (for :mod:`sandbox.state`): not the clock, faults, log or listener."""
        state = dict(self.__dict__)
        for name in ("clock", "faults", "requests", "on_request"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.faults, self.requests, self.on_request = [], [], None

    # -- to implement ------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def advance(self) -> None:
        """Play the world forward to ``clock.now()``."""

    @property
    def demo_api_key(self) -> str:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    def inject(self, fault: Fault | None = None, **kwargs: Any) -> Fault:
        """Queue a fault (``inject(status=429, headers={"Retry-After": "1"})``)."""
        fault = fault or Fault(**kwargs)
        self.faults.append(fault)
        return fault

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """How many requests matched (``path`` is a regular expression)."""
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (path is None or re.fullmatch(path, r.path))
        )

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sandbox/"):
            return await handler(request)
        fault = next((f for f in self.faults if f.matches(request)), None)
        if fault is not None:
            fault.times -= 1
            if fault.times <= 0:
                self.faults.remove(fault)
            if fault.delay:
                # A stalled provider has already received the request: read it in full first,
                # so the work is done even if the client gives up waiting (as a real one would).
                await request.read()
                await asyncio.sleep(fault.delay)
            if fault.garble is not None:
                return await self._garbled(request, handler, fault.garble)
            if fault.status is not None:
                body = fault.body if fault.body is not None else {"error": "Injected fault"}
                self.requests.append(
                    RequestRecord(request.method, request.path, request.query_string, fault.status)
                )
                if isinstance(body, str):
                    return web.Response(text=body, status=fault.status, headers=fault.headers)
                return json_response(body, status=fault.status, headers=fault.headers)
        return await self._serve(request, handler)

    async def _serve(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.advance()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self.requests.append(
                RequestRecord(request.method, request.path, request.query_string, exc.status)
            )
            raise
        finally:
            if self.on_request is not None:
                self.on_request()
        self.requests.append(
            RequestRecord(request.method, request.path, request.query_string, response.status)
        )
        return response

    async def _garbled(
        self, request: web.Request, handler: Handler, mode: str
    ) -> web.StreamResponse:
        """Carry the request out as usual, then spoil a successful answer (``mode``)."""
        response = await self._serve(request, handler)
        if not isinstance(response, web.Response) or not 200 <= response.status < 300:
            return response
        status = 200 if response.status == 204 else response.status
        real = response.text or ""
        if mode == "empty":
            return web.Response(status=status, content_type="application/json")
        if mode == "no_envelope":
            return json_response(NO_ENVELOPE_BODY, status=status)
        cut = real[: len(real) // 2] or '{"data": '
        return web.Response(text=cut, status=status, content_type="application/json")

    async def _control_advance(self, request: web.Request) -> web.Response:
        body = await request.json()
        seconds = float(body.get("seconds", 0))
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            return json_response({"error": "this clock cannot be moved"}, status=400)
        advance(seconds)
        self.advance()
        return json_response({"now": self.now()})

    async def _control_faults(self, request: web.Request) -> web.Response:
        body = await request.json()
        allowed = {"method", "path", "status", "body", "headers", "delay", "times", "garble"}
        try:
            fault = Fault(**{k: v for k, v in body.items() if k in allowed})
        except ValueError as exc:
            return json_response({"error": str(exc)}, status=400)
        self.inject(fault)
        return json_response({"queued": len(self.faults)})

    async def _control_requests(self, request: web.Request) -> web.Response:
        return json_response([r.__dict__ for r in self.requests])

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=512 * 1024)
        app.add_routes(
            [
                web.post("/_sandbox/advance", self._control_advance),
                web.post("/_sandbox/faults", self._control_faults),
                web.get("/_sandbox/requests", self._control_requests),
            ]
        )
        app.add_routes(self.routes())
        app[SANDBOX_KEY] = self
        return app


SANDBOX_KEY: web.AppKey[SandboxAPI] = web.AppKey("sandbox", SandboxAPI)


class RunningSandbox:
    """An emulator served on 127.0.0.1 (an ephemeral port unless one is given)."""

    def __init__(self, api: SandboxAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api = api
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.api.prefix}"

    async def start(self) -> RunningSandbox:
        self._runner = web.AppRunner(self.api.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None)  # asyncio.Server's; AbstractServer lacks it
        if sockets and self.port == 0:
            self.port = sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> RunningSandbox:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
