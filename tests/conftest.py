"""Shared fixtures: a test-controlled clock and a retry policy that does not make tests wait."""

from __future__ import annotations

import os

import pytest

from bot.providers.http import RetryPolicy
from sandbox.clock import ManualClock

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


pytest_plugins = ["tests.db_support"]
