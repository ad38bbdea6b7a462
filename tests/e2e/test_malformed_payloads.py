"""Malformed but correctly signed Slack requests get a 400 (or a harmless 200), never a 500, a
hang or a traceback in the log."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.core import approvals as approval_msg
from bot.core import create_views, modals
from bot.slack_local import payloads
from handlers.common import UNKNOWN_PROVIDER
from tests.e2e.harness import CHANNEL, MEMBER, TEAM, SlackEnv, message_text


def _payload(env: SlackEnv, payload: Any) -> payloads.SignedRequest:
    body = urlencode({"payload": json.dumps(payload)})
    return payloads.SignedRequest(body, payloads.sign(body, env.secret))


def _raw(env: SlackEnv, body: str) -> payloads.SignedRequest:
    return payloads.SignedRequest(body, payloads.sign(body, env.secret))


def _click(env: SlackEnv, **change: Any) -> dict[str, Any]:
    """A well-formed click on a card's Stop button, then ``change`` applied to it."""
    data = payloads.block_actions(
        secret=env.secret,
        action_id="deployment_stop",
        value=json.dumps({"op": "stop", "p": "nosana", "d": "abc"}),
        response_url=env.slack.response_url(),
    ).data()
    for key, value in change.items():
        if value is _DROP:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def _submission(env: SlackEnv, callback_id: str, values: Any, **view_change: Any) -> dict[str, Any]:
    data = payloads.view_submission(
        secret=env.secret, callback_id=callback_id, values={}, private_metadata=""
    ).data()
    data["view"]["state"] = {"values": values}
    for key, value in view_change.items():
        if value is _DROP:
            data["view"].pop(key, None)
        else:
            data["view"][key] = value
    return data


def _command(env: SlackEnv, *drop: str) -> payloads.SignedRequest:
    fields = dict(
        payloads.slash_command(
            secret=env.secret, text="list", response_url=env.slack.response_url()
        ).data()
    )
    for name in drop:
        fields.pop(name)
    return _raw(env, urlencode(fields))


_DROP = object()


def _cases(env: SlackEnv) -> dict[str, payloads.SignedRequest]:
    connect_meta = json.dumps({"p": "nosana", "c": CHANNEL})
    button = {"action_id": "deployment_stop", "block_id": "b", "type": "button", "value": "{}"}
    return {
        "block_actions without actions": _payload(env, _click(env, actions=_DROP)),
        "block_actions with empty actions": _payload(env, _click(env, actions=[])),
        "block_actions with null actions": _payload(env, _click(env, actions=None)),
        "actions not a list": _payload(env, _click(env, actions={"action_id": "x"})),
        "an action that is not an object": _payload(env, _click(env, actions=["stop"])),
        "an action without action_id": _payload(
            env, _click(env, actions=[{"block_id": "b", "type": "button", "value": "{}"}])
        ),
        "an action_id that is not a string": _payload(
            env, _click(env, actions=[{**button, "action_id": 7}])
        ),
        "a button value that is not a string": _payload(
            env, _click(env, actions=[{**button, "value": {"op": "stop"}}])
        ),
        "a button without trigger_id": _payload(env, _click(env, trigger_id=_DROP)),
        "a click without user": _payload(env, _click(env, user=_DROP)),
        "a click with user null": _payload(env, _click(env, user=None)),
        "a click with team a string": _payload(env, _click(env, team="T111")),
        "unknown provider on connect": _payload(
            env,
            _click(env, actions=[{**button, "action_id": "provider_connect_nosana", "value": "x"}]),
        ),
        "unknown provider on a card": _payload(
            env,
            _click(
                env,
                actions=[
                    {**button, "value": json.dumps({"op": "stop", "p": "heroku", "d": "abc"})}
                ],
            ),
        ),
        "view_submission without view": _payload(
            env, {k: v for k, v in _submission(env, modals.CONNECT, {}).items() if k != "view"}
        ),
        "view_submission with view null": _payload(
            env, {**_submission(env, modals.CONNECT, {}), "view": None}
        ),
        "view_submission without state": _payload(
            env, _submission(env, modals.CONNECT, {}, state=_DROP)
        ),
        "view_submission with values a list": _payload(
            env, _submission(env, modals.CONNECT, [], private_metadata=connect_meta)
        ),
        "a form value of the wrong type": _payload(
            env,
            _submission(
                env,
                modals.CONNECT,
                {modals.KEY_BLOCK: {modals.KEY_ACTION: {"type": "plain_text_input", "value": 42}}},
                private_metadata=connect_meta,
            ),
        ),
        "a form element that is a string": _payload(
            env,
            _submission(
                env,
                create_views.CREATE_FORM,
                {"name": {"name": "web"}},
                private_metadata=json.dumps({"p": "nosana"}),
            ),
        ),
        "private_metadata not a string": _payload(
            env, _submission(env, modals.CONNECT, {}, private_metadata={"p": "nosana"})
        ),
        "deny view without private_metadata": _payload(
            env, _submission(env, approval_msg.DENY_VIEW, {}, private_metadata=_DROP)
        ),
        "payload that is not JSON": _raw(env, urlencode({"payload": "not json"})),
        "truncated payload": _raw(env, urlencode({"payload": json.dumps(_click(env))[:120]})),
        "payload a JSON list": _raw(env, urlencode({"payload": "[1, 2]"})),
        "payload without type": _payload(env, _click(env, type=_DROP)),
        "JSON body a list": payloads.SignedRequest(
            "[1]", payloads.sign("[1]", env.secret, content_type=payloads.JSON)
        ),
        "slash command without user_id": _command(env, "user_id"),
        "slash command without text": _command(env, "text"),
        "slash command without team_id": _command(env, "team_id"),
        "event_callback without event": payloads.SignedRequest(
            json.dumps({"type": "event_callback", "team_id": TEAM, "event_id": "Ev1"}),
            payloads.sign(
                json.dumps({"type": "event_callback", "team_id": TEAM, "event_id": "Ev1"}),
                env.secret,
                content_type=payloads.JSON,
            ),
        ),
    }


#: Each case and the status it must get: 400 for a shape deploybot can't read; 200 where the
#: request is well formed but names something unknown (the person is told, see below).
CASES: dict[str, int] = {
    "block_actions without actions": 400,
    "block_actions with empty actions": 400,
    "block_actions with null actions": 400,
    "actions not a list": 400,
    "an action that is not an object": 400,
    "an action without action_id": 400,
    "an action_id that is not a string": 400,
    "a button value that is not a string": 400,
    "a button without trigger_id": 400,
    "a click without user": 400,
    "a click with user null": 400,
    "a click with team a string": 400,
    "unknown provider on connect": 200,
    "unknown provider on a card": 200,
    "view_submission without view": 400,
    "view_submission with view null": 400,
    "view_submission without state": 400,
    "view_submission with values a list": 400,
    "a form value of the wrong type": 400,
    "a form element that is a string": 400,
    "private_metadata not a string": 400,
    "deny view without private_metadata": 200,
    "payload that is not JSON": 400,
    "truncated payload": 400,
    "payload a JSON list": 400,
    "payload without type": 400,
    "JSON body a list": 400,
    "slash command without user_id": 400,
    "slash command without text": 400,
    "slash command without team_id": 400,
    "event_callback without event": 400,
}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_malformed_signed_payloads_are_refused_cleanly(
    env: SlackEnv, caplog: pytest.LogCaptureFixture
) -> None:
    cases = _cases(env)
    assert sorted(cases) == sorted(CASES)
    outcomes: dict[str, int] = {}
    details: dict[str, str] = {}
    problems: dict[str, list[str]] = {}
    for name in CASES:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            answer = await env.post(cases[name])
            await env.settle()
        outcomes[name] = answer.status
        details[name] = str(answer.body.get("detail", ""))
        bad = [
            f"{r.levelname} {r.name}: {r.getMessage()}"
            for r in caplog.records
            if r.levelno >= logging.ERROR or r.exc_info
        ]
        if bad:
            problems[name] = bad
    assert outcomes == CASES
    assert problems == {}
    # A refusal says what is wrong, without echoing the request.
    assert details["block_actions with empty actions"].startswith("actions:")
    assert details["an action without action_id"].startswith("actions.0.action_id:")
    assert details["view_submission without state"].startswith("view.state:")
    assert details["slash command without user_id"].startswith("user_id:")
    assert details["a form value of the wrong type"].startswith(
        f"view.state.values.{modals.KEY_BLOCK}.{modals.KEY_ACTION}.value:"
    )
    # Nothing was posted in the channel or opened from a refused request (the deny form without
    # its request id only tells the person, privately, that the request no longer exists).
    assert [c.body.get("text") for c in env.calls("chat.postMessage")] == [
        "This request no longer exists."
    ]
    assert env.calls("views.open") == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "action_id, value, told",
    [
        ("provider_connect_nosana", "heroku", UNKNOWN_PROVIDER),
        (f"{create_views.PICK_ACTION}_nosana", "heroku", UNKNOWN_PROVIDER),
        (
            "deployment_stop",
            json.dumps({"op": "stop", "p": "heroku", "d": "abc"}),
            "That button is out of date",
        ),
    ],
)
async def test_a_button_naming_an_unknown_provider_is_refused_with_a_message(
    env: SlackEnv, caplog: pytest.LogCaptureFixture, action_id: str, value: str, told: str
) -> None:
    with caplog.at_level(logging.INFO):
        answer = await env.click(action_id, value, user=MEMBER)
    assert answer.status == 200
    assert told in message_text(env.last_response(answer.response_key))
    assert env.calls("views.open") == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
