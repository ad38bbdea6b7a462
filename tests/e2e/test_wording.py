"""Sentences people read: where an approval request went, states and verbs in plain words."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.harness import CHANNEL, SlackEnv, message_text, slack_env


@pytest.fixture
async def env(db_url: str, tmp_path: Any) -> AsyncIterator[SlackEnv]:
    async with slack_env(db_url, tmp_path, policy=None) as running:  # default approvals
        yield running


def last_text(env: SlackEnv, key: str | None) -> str:
    return message_text(env.responses(key)[-1])


async def test_the_requester_learns_the_request_went_to_this_channel(env: SlackEnv) -> None:
    answer = await env.command("stop llama3-chat")
    text = last_text(env, answer.response_key)
    assert f"I posted the request in <#{CHANNEL}>." in text
    assert "request here" not in text and "request #" not in text


async def test_a_request_the_channel_refused_went_to_a_direct_message(env: SlackEnv) -> None:
    env.slack.fail_next("chat.postMessage", status=200, error="not_in_channel")
    answer = await env.command("stop llama3-chat")
    text = last_text(env, answer.response_key)
    assert "I posted the request in a direct message to you." in text
    assert f"<#{CHANNEL}>" not in text.split("It expires")[0]


async def test_a_draft_is_a_draft_once(env: SlackEnv) -> None:
    answer = await env.command("stop notebook-draft")
    text = last_text(env, answer.response_key)
    assert "notebook-draft is a draft on Nosana, so `stop` is not possible now" in text
    assert "(DRAFT)" not in text and "is draft" not in text


async def test_neuranet_cannot_roll_back_in_two_words(env: SlackEnv) -> None:
    answer = await env.command("rollback llama-chat 1")
    text = last_text(env, answer.response_key)
    assert "NeuraNET can't roll back." in text and "rollback." not in text
