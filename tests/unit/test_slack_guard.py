"""The shape check in front of every listener (pure: a body in, one line or None out)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.slack_guard import payload_problem
from bot.slack_local import payloads

SECRET = "unit-secret"


def _click(**change: Any) -> dict[str, Any]:
    body = payloads.block_actions(
        secret=SECRET, action_id="deployment_stop", value="{}", response_url="http://x/y"
    ).data()
    body.update(change)
    return body


def _submission(**change: Any) -> dict[str, Any]:
    body = payloads.view_submission(
        secret=SECRET,
        callback_id="connect_provider",
        values=payloads.input_values({("api_key", "value"): "k" * 10}),
    ).data()
    body["view"].update(change)
    return body


@pytest.mark.parametrize(
    "body",
    [
        payloads.slash_command(secret=SECRET, text="", response_url="http://x/y").data(),
        _click(),
        _submission(),
        payloads.block_actions(
            secret=SECRET,
            action_id="pick",
            value=None,
            response_url="",
            selected_option={"value": "a"},
            view={"id": "V1", "type": "home"},  # App Home: no state
        ).data(),
        payloads.block_suggestion(secret=SECRET, action_id="market", value="rtx").data(),
        json.loads(payloads.event_callback(secret=SECRET, event={"type": "app_home_opened"}).body),
        {"type": "shortcut", "callback_id": "x"},  # not modelled: Bolt decides
    ],
)
def test_what_slack_sends_passes(body: dict[str, Any]) -> None:
    assert payload_problem(body) is None


@pytest.mark.parametrize(
    "body, problem",
    [
        (_click(actions=[]), "actions: List should have at least 1 item"),
        (_click(actions=None), "actions: Input should be a valid list"),
        (_click(actions=[{"value": "x"}]), "actions.0.action_id: Field required"),
        (_click(actions=[{"action_id": "a", "value": 3}]), "actions.0.value:"),
        (_click(user={"name": "ana"}), "user.id: Field required"),
        ({**_click(), "trigger_id": None}, "trigger_id: Input should be a valid string"),
        (_submission(state={"values": []}), "view.state.values: Input should be a valid dict"),
        (_submission(private_metadata=None), "view.private_metadata:"),
        ({"type": "view_submission", "user": {"id": "U1"}}, "view: Field required"),
        ({"type": "event_callback", "team_id": "T1"}, "event: Field required"),
        ({"command": "/deploy", "text": "list", "team_id": "T1"}, "user_id: Field required"),
        ({"command": "/deploy", "text": "", "team_id": "T1", "user_id": ""}, "user_id:"),
        ({"token": "x"}, "the request has neither a type nor a command"),
        ({"type": 7}, "the request has neither a type nor a command"),
    ],
)
def test_what_is_wrong_is_named(body: dict[str, Any], problem: str) -> None:
    found = payload_problem(body)
    assert found is not None and found.startswith(problem), found


def test_a_refusal_never_echoes_the_value() -> None:
    found = payload_problem(_click(actions=[{"action_id": "a", "value": {"secret": "xoxb-9"}}]))
    assert found is not None and "xoxb-9" not in found
