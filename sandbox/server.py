"""Serve all three emulators on loopback: what ``deploybot sandbox`` runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.clock import Clock, ScaledClock
from sandbox.common import RunningSandbox, SandboxAPI
from sandbox.state import StateFile

log = logging.getLogger(__name__)

#: Seconds a change waits before the state file is written (changes in between share a write).
SAVE_DELAY = 0.5


def build_sandboxes(clock: Clock, *, seed: bool = True) -> list[SandboxAPI]:
    """One emulator per provider, sharing one clock, in the order Nosana, Akash, NeuraNET."""
    from sandbox.akash import AkashSandbox
    from sandbox.neuranet import NeuraNetSandbox
    from sandbox.nosana import NosanaSandbox

    return [
        NosanaSandbox(clock, seed=seed),
        AkashSandbox(clock, seed=seed),
        NeuraNetSandbox(clock, seed=seed),
    ]


@dataclass
class SandboxLine:
    provider: str
    base_url: str
    api_key: str

    def __str__(self) -> str:
        return f"{self.provider} {self.base_url} {self.api_key}"


class SandboxCluster:
    """The three emulators, started together on 127.0.0.1.

    With a ``state`` file that exists, the worlds are the saved ones, resumed at the world time
    they were saved at on a clock of ``speed`` (``clock`` is then not used); the worlds are
    written back to it shortly after every request and when the cluster stops. Loading raises
    :class:`sandbox.state.SandboxStateError` when the file cannot be used.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        host: str = "127.0.0.1",
        ports: tuple[int, ...] = (),
        state: StateFile | None = None,
        speed: float = 1.0,
    ) -> None:
        self.state = state
        self.restored = state is not None and state.exists()
        if state is not None and self.restored:
            self.apis, self.clock = state.load(lambda now: ScaledClock(speed, start=now))
        else:
            self.clock = clock or ScaledClock(speed)
            self.apis = build_sandboxes(self.clock)
        self._save_handle: asyncio.TimerHandle | None = None
        if state is not None:
            for api in self.apis:
                api.on_request = self._changed
        self.servers = [
            RunningSandbox(api, host=host, port=ports[i] if i < len(ports) else 0)
            for i, api in enumerate(self.apis)
        ]

    async def start(self) -> list[SandboxLine]:
        started: list[RunningSandbox] = []
        try:
            for server in self.servers:
                started.append(await server.start())
        except BaseException:
            for server in started:
                await server.stop()
            raise
        if self.state is not None and not self.restored:
            self.save()  # the new worlds exist on disk from the start, beside their user's data
        return self.lines()

    def lines(self) -> list[SandboxLine]:
        return [SandboxLine(s.api.name, s.base_url, s.api.demo_api_key) for s in self.servers]

    def api(self, provider: str) -> SandboxAPI:
        return next(s.api for s in self.servers if s.api.name == provider)

    def base_url(self, provider: str) -> str:
        return next(s.base_url for s in self.servers if s.api.name == provider)

    async def stop(self) -> None:
        for server in self.servers:
            await server.stop()
        if self._save_handle is not None:
            self._save_handle.cancel()
            self._save_handle = None
        self.save()

    def save(self) -> None:
        """Write the worlds to the state file now (nothing without one)."""
        self._save_handle = None
        if self.state is None:
            return
        try:
            self.state.save(self.apis, self.clock)
        except OSError:
            log.exception("could not save the sandbox state to %s", self.state.path)

    def _changed(self) -> None:
        if self._save_handle is None:
            loop = asyncio.get_running_loop()
            self._save_handle = loop.call_later(SAVE_DELAY, self.save)

    async def __aenter__(self) -> SandboxCluster:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def serve_forever(
    *,
    speed: float,
    host: str,
    ports: tuple[int, ...],
    print_line: Callable[[str], None] = print,
    stop_after: float | None = None,
) -> None:
    """Start the cluster, print one line per API, run until SIGINT/SIGTERM (or ``stop_after`` s)."""
    cluster = SandboxCluster(ScaledClock(speed=speed), host=host, ports=ports)
    lines = await cluster.start()
    for line in lines:
        print_line(str(line))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        if stop_after is None:
            await stop.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=stop_after)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await cluster.stop()
