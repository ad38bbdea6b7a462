"""Slack without Slack: a fake Web API, signed request builders and Block Kit as terminal text.

Used by the tests, the benchmark and the local terminal shell; everything stays on loopback.
"""

from bot.slack_local.fake_api import FakeSlackAPI, SlackCall, TokenInfo
from bot.slack_local.payloads import (
    SignedRequest,
    block_actions,
    event_callback,
    input_values,
    sign,
    slash_command,
    view_submission,
)
from bot.slack_local.text import (
    InputField,
    Interactive,
    RenderedMessage,
    RenderedView,
    confirm_text,
    match_option,
    mrkdwn_to_text,
    render_message,
    render_view,
    state_values,
)

__all__ = [
    "FakeSlackAPI",
    "InputField",
    "Interactive",
    "RenderedMessage",
    "RenderedView",
    "SignedRequest",
    "SlackCall",
    "TokenInfo",
    "block_actions",
    "confirm_text",
    "event_callback",
    "input_values",
    "match_option",
    "mrkdwn_to_text",
    "render_message",
    "render_view",
    "sign",
    "slash_command",
    "state_values",
    "view_submission",
]
