"""The shape of deploybot's Bolt middlewares: a step that looks at a request (and may set its
body or context), then answers it or lets it go on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

#: What a step decides: the response that answers the request, or None to go on.
Answer = BoltResponse | None


class RequestStep(AsyncMiddleware):
    """A Bolt middleware (global or a listener's) whose work is :meth:`step`: a plain method,
    so it costs the ack no coroutine of its own and Bolt builds it no keyword arguments — or,
    for a step that must wait (a database write), a coroutine."""

    def step(self, req: AsyncBoltRequest) -> Answer | Awaitable[Answer]:
        """The response that answers ``req`` here, or None to go on (to the next middleware,
        then the listener)."""
        raise NotImplementedError

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        answer = self.step(req)
        if not isinstance(answer, BoltResponse | None):
            answer = await answer
        if answer is None:
            return await next()
        return answer


class Steps(RequestStep):
    """Plain steps run as one middleware, in turn, until one answers (Bolt takes a single
    ``before_authorize``). A step that must wait doesn't belong here."""

    def __init__(self, *steps: RequestStep) -> None:
        self.steps = steps

    def step(self, req: AsyncBoltRequest) -> Answer:
        for one in self.steps:
            answer = one.step(req)
            if not isinstance(answer, BoltResponse | None):
                if isinstance(answer, Coroutine):
                    answer.close()
                raise TypeError(f"{type(one).__name__} must wait: it can't be one of Steps")
            if answer is not None:
                return answer
        return None


__all__ = ["Answer", "RequestStep", "Steps"]
