"""deploybot's middleware shape: a step answers a request or lets it go on; ``Steps`` runs
plain steps in turn as Bolt's single ``before_authorize``."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack_middleware import Answer, RequestStep, Steps


class Mark(RequestStep):
    def __init__(self, name: str, seen: list[str], answer: int | None = None) -> None:
        self.label, self.seen, self.answer = name, seen, answer

    def step(self, req: AsyncBoltRequest) -> Answer:
        self.seen.append(self.label)
        return None if self.answer is None else BoltResponse(status=self.answer, body="")


class Waits(RequestStep):
    async def _answer(self) -> Answer:
        return None

    def step(self, req: AsyncBoltRequest) -> Awaitable[Answer]:
        return self._answer()


def _request() -> AsyncBoltRequest:
    return AsyncBoltRequest(body="command=%2Fdeploy&text=help", headers={})


async def test_steps_run_in_turn_until_one_answers() -> None:
    seen: list[str] = []
    steps = Steps(Mark("a", seen), Mark("b", seen, answer=401), Mark("c", seen))
    reached: list[bool] = []

    async def next_() -> BoltResponse:
        reached.append(True)
        return BoltResponse(status=200, body="")

    answer = await steps.async_process(req=_request(), resp=BoltResponse(status=200), next=next_)
    assert answer.status == 401 and seen == ["a", "b"] and reached == []

    seen.clear()
    quiet = Steps(Mark("a", seen), Mark("c", seen))
    answer = await quiet.async_process(req=_request(), resp=BoltResponse(status=200), next=next_)
    assert answer.status == 200 and seen == ["a", "c"] and reached == [True]


async def test_a_step_that_must_wait_is_refused_in_steps() -> None:
    steps = Steps(Waits())
    with pytest.raises(TypeError, match="Waits must wait"):  # (and no "never awaited")
        steps.step(_request())
