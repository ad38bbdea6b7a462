"""A database outage of a few seconds (a failover, a restart) never makes Slack see a 500: the
connect form, the create form, the create confirmation, a command, a button and a Deny click
each answer the person with one line that says to try again (their job can't be written)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from bot.core import approvals as approval_msg
from bot.core import create_views as views
from bot.core import modals
from bot.slack_local import payloads
from handlers.common import DATABASE_DOWN
from tests.e2e.database_cut import cut_database
from tests.e2e.harness import ADMIN, CHANNEL, MEMBER, TEAM, Answer, SlackEnv, message_text


def _errors_of(answer: Answer) -> dict[str, str]:
    assert answer.status == 200, answer.raw
    assert answer.body.get("response_action") == "errors", answer.body
    errors: dict[str, str] = answer.body["errors"]
    return errors


def _clean_log(caplog: pytest.LogCaptureFixture) -> None:
    bad = [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info
    ]
    assert bad == []


async def _submit(
    env: SlackEnv, callback: str, values: dict[str, Any], meta: dict[str, Any], user: str
) -> Answer:
    return await env.post(
        payloads.view_submission(
            secret=env.secret,
            callback_id=callback,
            values=values,
            private_metadata=json.dumps(meta),
            team_id=TEAM,
            user_id=user,
        )
    )


async def test_connect_form_during_an_outage_says_try_again(
    env: SlackEnv, caplog: pytest.LogCaptureFixture
) -> None:
    await cut_database(env)
    with caplog.at_level(logging.INFO):
        answer = await _submit(
            env,
            modals.CONNECT,
            payloads.input_values({(modals.KEY_BLOCK, modals.KEY_ACTION): "nos_new-key-123456"}),
            {"p": "nosana", "c": CHANNEL},
            ADMIN,
        )
        await env.settle()
    assert _errors_of(answer) == {modals.KEY_BLOCK: DATABASE_DOWN}
    _clean_log(caplog)


async def test_create_form_during_an_outage_says_try_again(
    env: SlackEnv, caplog: pytest.LogCaptureFixture
) -> None:
    await cut_database(env)
    values = payloads.input_values({("name", views.VALUE): "web"})
    with caplog.at_level(logging.INFO):
        answer = await _submit(
            env, views.CREATE_FORM, values, {"p": "nosana", "c": CHANNEL}, MEMBER
        )
        await env.settle()
    assert list(_errors_of(answer).values()) == [DATABASE_DOWN]
    _clean_log(caplog)


async def test_create_confirm_during_an_outage_says_try_again(
    env: SlackEnv, caplog: pytest.LogCaptureFixture
) -> None:
    await cut_database(env)
    with caplog.at_level(logging.INFO):
        answer = await _submit(env, views.CREATE_REVIEW, {}, {"r": "r" * 32}, MEMBER)
        await env.settle()
    assert answer.status == 200, answer.raw
    assert answer.body.get("response_action") == "update"
    assert DATABASE_DOWN in json.dumps(answer.body["view"])
    assert env.calls("chat.postMessage") == []  # nothing was created, nothing announced
    _clean_log(caplog)


async def test_deny_click_during_an_outage_says_try_again(
    env: SlackEnv, caplog: pytest.LogCaptureFixture
) -> None:
    await cut_database(env)
    with caplog.at_level(logging.INFO):
        answer = await env.click(approval_msg.DENY, "a" * 32, user=ADMIN)
    assert answer.status == 200
    assert DATABASE_DOWN in message_text(env.last_response(answer.response_key))
    assert env.calls("views.open") == []
    _clean_log(caplog)


async def test_deny_reason_during_an_outage_tells_the_person(
    env: SlackEnv, caplog: pytest.LogCaptureFixture
) -> None:
    await cut_database(env)
    values = payloads.input_values({(approval_msg.DENY_BLOCK, approval_msg.DENY_ACTION): "no"})
    with caplog.at_level(logging.INFO):
        answer = await env.post(
            payloads.view_submission(
                secret=env.secret,
                callback_id=approval_msg.DENY_VIEW,
                values=values,
                private_metadata="a" * 32,
                team_id=TEAM,
                user_id=ADMIN,
            )
        )
        await env.settle()
    assert answer.status == 200
    told = [c.body for c in env.calls("chat.postMessage") if c.body.get("channel") == ADMIN]
    assert len(told) == 1 and DATABASE_DOWN in told[0]["text"]
    _clean_log(caplog)


@pytest.mark.parametrize("action", [approval_msg.APPROVE, approval_msg.CANCEL])
async def test_approve_and_cancel_clicks_during_an_outage_say_try_again(
    env: SlackEnv, caplog: pytest.LogCaptureFixture, action: str
) -> None:
    await cut_database(env)
    with caplog.at_level(logging.INFO):
        answer = await env.click(action, "a" * 32, user=ADMIN)
    assert answer.status == 200
    assert DATABASE_DOWN in message_text(env.last_response(answer.response_key))
    _clean_log(caplog)


async def test_a_command_during_an_outage_is_answered_in_its_ack(
    env: SlackEnv, caplog: pytest.LogCaptureFixture
) -> None:
    """The job can't be written: the ack itself says so (Slack never retries a command)."""
    await cut_database(env)
    with caplog.at_level(logging.INFO):
        answer = await env.command("show llama-chat")
    assert answer.status == 200, answer.raw
    assert DATABASE_DOWN in json.dumps(answer.body)
    assert env.responses(answer.response_key) == []  # nothing else follows
    _clean_log(caplog)


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        ("list_next", json.dumps({"s": ""})),
        ("deployment_stop", json.dumps({"op": "stop", "p": "nosana", "d": "x"})),
    ],
)
async def test_a_click_during_an_outage_is_told_at_once(
    env: SlackEnv, caplog: pytest.LogCaptureFixture, action_id: str, value: str
) -> None:
    await cut_database(env)
    with caplog.at_level(logging.INFO):
        answer = await env.click(action_id, value)
    assert answer.status == 200
    assert DATABASE_DOWN in message_text(env.last_response(answer.response_key))
    _clean_log(caplog)
