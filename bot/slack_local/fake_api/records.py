"""The recorded-call store: every request the fake received, and ways to wait for them."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Json = dict[str, Any]
CallListener = Callable[["SlackCall"], Awaitable[None] | None]


@dataclass
class SlackCall:
    """One request the fake received.

    ``body`` merges the query string with the parsed form or JSON body (form fields that hold
    JSON, such as ``blocks`` and ``view``, are decoded). ``headers`` has lower-case names.
    ``method`` is the Web API method, or ``"response_url"`` for a post to a response URL, whose
    key is then in ``response_url``. ``failed`` marks calls answered with an error: an injected
    fault, or a payload the ``payload_check`` rejected (then in ``rejected``).
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
    #: Why the payload was rejected, when the ``payload_check`` rejected it.
    rejected: Rejection | None = None


@dataclass(frozen=True)
class Rejection:
    """A payload Slack would refuse: the error code it answers with, and its messages."""

    error: str
    messages: tuple[str, ...] = ()


#: Judges what a call carries (its method, or ``"response_url"``, and its body): ``None`` lets
#: it through, a :class:`Rejection` answers it with Slack's error.
PayloadCheck = Callable[[str, Json], Rejection | None]


class CallLog:
    """The calls in arrival order, and an optional ``on_call`` listener told of each one."""

    def __init__(self) -> None:
        self.calls: list[SlackCall] = []
        self.on_call: CallListener | None = None

    async def record(self, call: SlackCall) -> None:
        self.calls.append(call)
        if self.on_call is None:
            return
        try:
            result = self.on_call(call)
            if inspect.isawaitable(result):
                await result
        except Exception:  # a broken listener must not break the fake Slack
            log.exception("FakeSlackAPI.on_call listener failed for %s", call.method)

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
