"""Shared fixtures: a test-controlled clock and a retry policy that does not make tests wait."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.providers.http import RetryPolicy
from bot.slack_local.fake_api import FakeSlackAPI
from sandbox.clock import ManualClock
from tests import blockkit_support

# Tests never reach real hosts: make sure nothing points the clients at production.
for _var in ("NOSANA_API_URL", "AKASH_API_URL", "NEURANET_API_URL"):
    os.environ.pop(_var, None)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fast_retry() -> RetryPolicy:
    """Same attempts as production, but backoff in milliseconds."""
    return RetryPolicy(base_delay=0.001, max_delay=0.01, max_retry_after=5.0)


@dataclass
class SlackJudge:
    """Whether this test's fake Slacks are judged (off only in tests of the fake itself)."""

    enabled: bool = True


@pytest.fixture(autouse=True)
def slack_rejections(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackJudge]:
    """Every fake Slack of a test judges what it was sent by Slack's rules
    (tests/blockkit_support.py); the test fails if Slack would have refused anything.

    The e2e harness rejects such a payload at once, as Slack would (its ``payload_check``);
    the fakes inside the shell and ``deploybot serve`` are judged when the test ends, so their
    answers keep their timing.
    """
    fakes: list[FakeSlackAPI] = []
    created = FakeSlackAPI.__init__

    def init(self: FakeSlackAPI, *args: Any, **kwargs: Any) -> None:
        created(self, *args, **kwargs)
        fakes.append(self)

    monkeypatch.setattr(FakeSlackAPI, "__init__", init)
    judge = SlackJudge()
    yield judge
    if not judge.enabled:
        return
    refused: list[str] = []
    for fake in fakes:
        refused += [
            f"{c.method}: {c.rejected.error}: " + "; ".join(c.rejected.messages)
            for c in fake.rejections
            if c.rejected is not None
        ]
        if fake.payload_check is None:
            refused += _judged(fake)
    assert not refused, "Slack would reject what the app sent:\n" + "\n".join(refused)


def _judged(fake: FakeSlackAPI) -> list[str]:
    """What Slack would have refused of the calls ``fake`` answered without judging them."""
    found = []
    for call in fake.calls:
        if call.failed:
            continue
        violations = blockkit_support.check_call(call.method, call.body)
        if violations:
            found.append(f"{call.method}: " + "; ".join(str(v) for v in violations))
    return found


pytest_plugins = ["tests.db_support"]
