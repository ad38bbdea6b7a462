"""Shared fixtures: a test-controlled clock and a retry policy that does not make tests wait."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from bot.providers.http import RetryPolicy
from bot.slack_local.fake_api import FakeSlackAPI, Rejection
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


@pytest.fixture(autouse=True)
def slack_rejections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every fake Slack of a test (e2e harness, shell, serve) judges what it is sent by Slack's
    rules (tests/blockkit_support.py) and rejects what Slack would; the test fails if anything
    was rejected. A test that sends a bad payload on purpose empties this list."""
    rejected: list[str] = []

    def check(method: str, body: dict[str, Any]) -> Rejection | None:
        rejection = blockkit_support.payload_check(method, body)
        if rejection is not None:
            rejected.append(f"{method}: {rejection.error}: " + "; ".join(rejection.messages))
        return rejection

    monkeypatch.setattr(FakeSlackAPI, "default_payload_check", check)
    yield rejected
    assert not rejected, "Slack would reject what the app sent:\n" + "\n".join(rejected)


pytest_plugins = ["tests.db_support"]
