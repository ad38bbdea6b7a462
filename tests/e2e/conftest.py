"""Fixtures for the end-to-end Slack tests (see ``harness.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.harness import SlackEnv, slack_env


@pytest.fixture
async def env(db_url: str, tmp_path: Any) -> AsyncIterator[SlackEnv]:
    """The whole app over HTTP, on SQLite and on PostgreSQL."""
    async with slack_env(db_url, tmp_path) as running:
        yield running
