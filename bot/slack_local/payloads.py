"""Signed Slack requests, built the way Slack sends them to an app's Request URL.

Each builder returns a :class:`SignedRequest` (the exact body and its ``x-slack-signature``
headers) for a slash command, a ``block_actions`` or ``view_submission`` interaction, or an
Events API ``event_callback``. Post it to the bot over HTTP, or hand it to Bolt directly::

    req = slash_command(secret=SECRET, text="list", response_url=slack.response_url())
    resp = await app.async_dispatch(AsyncBoltRequest(body=req.body, headers=req.as_bolt_headers()))

Only the signature timestamp and generated ids (trigger ids, event ids) depend on the clock or
randomness; pass ``timestamp=``/``trigger_id=``/``event_id=`` to make a request reproducible.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from slack_sdk.signature import SignatureVerifier

__all__ = [
    "FORM",
    "JSON",
    "SignedRequest",
    "block_actions",
    "block_suggestion",
    "event_callback",
    "input_values",
    "new_trigger_id",
    "sign",
    "slash_command",
    "view_submission",
]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
APP_ID = "A111"
#: The legacy verification token Slack still puts in payloads (Bolt ignores it).
VERIFICATION_TOKEN = "verification-token"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"

Json = dict[str, Any]


@dataclass
class SignedRequest:
    """A request body exactly as Slack sends it, with its signed headers."""

    body: str
    headers: dict[str, str]

    def as_bolt_headers(self) -> dict[str, str | Sequence[str]]:
        """Headers in the shape ``AsyncBoltRequest(headers=...)`` takes."""
        return {name: [value] for name, value in self.headers.items()}

    def data(self) -> Json:
        """The decoded body: the JSON object, the ``payload`` of an interaction, or the form."""
        if self.headers.get("content-type") == JSON:
            decoded: Json = json.loads(self.body)
            return decoded
        form = dict(parse_qsl(self.body, keep_blank_values=True))
        return json.loads(form["payload"]) if "payload" in form else form


def sign(
    body: str, secret: str, *, timestamp: int | None = None, content_type: str = FORM
) -> dict[str, str]:
    """Slack's v0 signature headers for ``body`` (timestamp: now unless given)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    if signature is None:  # only when timestamp or body is None
        raise ValueError("cannot sign an empty request")
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
        "user-agent": USER_AGENT,
    }


def new_trigger_id() -> str:
    """A trigger id shaped like Slack's (``1234567890123.123456789012.0123abcd…``)."""
    return (
        f"{secrets.randbelow(10**13):013d}.{secrets.randbelow(10**12):012d}.{secrets.token_hex(16)}"
    )


def _signed_form(fields: dict[str, str], secret: str, timestamp: int | None) -> SignedRequest:
    body = urlencode(fields)
    return SignedRequest(body, sign(body, secret, timestamp=timestamp))


def _signed_payload(payload: Json, secret: str, timestamp: int | None) -> SignedRequest:
    return _signed_form({"payload": json.dumps(payload)}, secret, timestamp)


def _user(user_id: str, team_id: str, user_name: str) -> Json:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id}


def slash_command(
    *,
    secret: str,
    text: str,
    response_url: str,
    team_id: str = "T111",
    user_id: str = "U111",
    channel_id: str = "C111",
    command: str = "/deploy",
    trigger_id: str | None = None,
    enterprise_id: str | None = None,
    timestamp: int | None = None,
    user_name: str = "ana",
    channel_name: str = "ops",
    team_domain: str = "test",
) -> SignedRequest:
    """A slash command invocation (form-encoded, as Slack posts it)."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    if enterprise_id is not None:
        fields.update(enterprise_id=enterprise_id, enterprise_name="Enterprise")
    return _signed_form(fields, secret, timestamp)


def block_actions(
    *,
    secret: str,
    action_id: str,
    value: str | None,
    response_url: str,
    block_id: str = "b",
    team_id: str = "T111",
    user_id: str = "U111",
    channel_id: str = "C111",
    message: Json | None = None,
    message_ts: str = "1700000000.000100",
    trigger_id: str | None = None,
    timestamp: int | None = None,
    selected_option: Json | None = None,
    action_type: str = "button",
    user_name: str = "ana",
    view: Json | None = None,
) -> SignedRequest:
    """A click on a message's button (or a choice in its select menu).

    With ``selected_option`` the action carries it instead of ``value`` (and ``action_type``
    ``"button"`` becomes ``"static_select"``). With ``view`` the action comes from that modal
    instead of a message: the container is the view and there is no message or channel.
    """
    action: Json = {"action_id": action_id, "block_id": block_id, "type": action_type}
    if selected_option is not None:
        if action_type == "button":
            action["type"] = "static_select"
        action["selected_option"] = selected_option
    else:
        action.update(value=value, text={"type": "plain_text", "text": "x", "emoji": True})
    action["action_ts"] = f"{time.time():.6f}"
    payload: Json = {
        "type": "block_actions",
        "user": _user(user_id, team_id, user_name),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": "test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": [action],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V111")}
        payload["view"] = view
    else:
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": "ops"}
        payload["message"] = message or {"ts": message_ts, "text": "", "blocks": []}
        payload["response_url"] = response_url
    return _signed_payload(payload, secret, timestamp)


def input_values(mapping: dict[tuple[str, str], str | Json]) -> Json:
    """``state.values`` from ``{(block_id, action_id): value}``.

    A string becomes a ``plain_text_input`` state; a dict is used as the element's state as it
    is (its ``type`` guessed from ``selected_option``/``selected_options`` when missing).
    """
    values: Json = {}
    for (block_id, action_id), value in mapping.items():
        if isinstance(value, str):
            state: Json = {"type": "plain_text_input", "value": value}
        else:
            state = dict(value)
            if "type" not in state:
                if "selected_option" in state:
                    state["type"] = "static_select"
                elif "selected_options" in state:
                    state["type"] = "checkboxes"
        values.setdefault(block_id, {})[action_id] = state
    return values


def view_submission(
    *,
    secret: str,
    callback_id: str,
    values: Json,
    private_metadata: str = "",
    team_id: str = "T111",
    user_id: str = "U111",
    view_id: str = "V111",
    timestamp: int | None = None,
    external_id: str | None = None,
    blocks: list[Json] | None = None,
    view_hash: str = "1700000000.abcdef",
    user_name: str = "ana",
) -> SignedRequest:
    """A modal's submission; ``values`` is ``state.values`` (see :func:`input_values`)."""
    view: Json = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": blocks or [],
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": values},
        "hash": view_hash,
        "title": {"type": "plain_text", "text": "Modal"},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": {"type": "plain_text", "text": "Submit"},
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": APP_ID,
        "external_id": external_id or "",
        "app_installed_team_id": team_id,
        "bot_id": "BBOT",
    }
    payload: Json = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "test"},
        "user": _user(user_id, team_id, user_name),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": new_trigger_id(),
        "view": view,
        "response_urls": [],
        "enterprise": None,
        "is_enterprise_install": False,
    }
    return _signed_payload(payload, secret, timestamp)


def block_suggestion(
    *,
    secret: str,
    action_id: str,
    value: str,
    block_id: str = "b",
    team_id: str = "T111",
    user_id: str = "U111",
    view: Json | None = None,
    timestamp: int | None = None,
    user_name: str = "ana",
) -> SignedRequest:
    """An external select asking for its options (type-ahead ``value``), from a modal."""
    payload: Json = {
        "type": "block_suggestion",
        "user": _user(user_id, team_id, user_name),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "team": {"id": team_id, "domain": "test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "container": {"type": "view", "view_id": (view or {}).get("id", "V111")},
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "view": view or {"id": "V111", "type": "modal", "state": {"values": {}}},
    }
    return _signed_payload(payload, secret, timestamp)


def event_callback(
    *,
    secret: str,
    event: Json,
    team_id: str = "T111",
    event_id: str | None = None,
    enterprise_id: str | None = None,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> SignedRequest:
    """An Events API delivery (JSON); ``retry_num`` adds Slack's redelivery headers."""
    now = int(time.time()) if timestamp is None else timestamp
    body = json.dumps(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "enterprise_id": enterprise_id,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": enterprise_id,
                    "team_id": team_id,
                    "user_id": "UBOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
    )
    headers = sign(body, secret, timestamp=now, content_type=JSON)
    if retry_num is not None:
        headers["x-slack-retry-num"] = str(retry_num)
        headers["x-slack-retry-reason"] = retry_reason
    return SignedRequest(body, headers)


def function_executed(
    *,
    secret: str,
    callback_id: str,
    inputs: Json,
    execution_id: str | None = None,
    bot_access_token: str = "xwfp-test",
    team_id: str = "T111",
    event_id: str | None = None,
    timestamp: int | None = None,
) -> SignedRequest:
    """A Workflow Builder step's run: the ``function_executed`` event Slack delivers (with the
    just-in-time ``bot_access_token`` the function completes with)."""
    now = int(time.time()) if timestamp is None else timestamp
    event: Json = {
        "type": "function_executed",
        "function": {
            "id": f"Fn{secrets.token_hex(5).upper()}",
            "callback_id": callback_id,
            "title": callback_id.replace("_", " ").capitalize(),
            "description": "",
            "type": "app",
            "input_parameters": [],
            "output_parameters": [],
            "app_id": APP_ID,
            "date_created": now,
            "date_updated": now,
            "date_deleted": 0,
        },
        "inputs": inputs,
        "function_execution_id": execution_id or f"Fx{secrets.token_hex(5).upper()}",
        "workflow_execution_id": f"Wx{secrets.token_hex(5).upper()}",
        "event_ts": f"{now}.000100",
        "bot_access_token": bot_access_token,
    }
    return event_callback(
        secret=secret, event=event, team_id=team_id, event_id=event_id, timestamp=timestamp
    )


def global_shortcut(
    *,
    secret: str,
    callback_id: str,
    team_id: str = "T111",
    user_id: str = "U111",
    trigger_id: str | None = None,
    timestamp: int | None = None,
    user_name: str = "ana",
) -> SignedRequest:
    """A global shortcut (the ⚡ menu or the search bar): no channel, no response URL."""
    payload: Json = {
        "type": "shortcut",
        "callback_id": callback_id,
        "action_ts": f"{time.time():.6f}",
        "user": _user(user_id, team_id, user_name),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": "test"},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    return _signed_payload(payload, secret, timestamp)


def message_shortcut(
    *,
    secret: str,
    callback_id: str,
    message: Json,
    response_url: str,
    team_id: str = "T111",
    user_id: str = "U111",
    channel_id: str = "C111",
    trigger_id: str | None = None,
    timestamp: int | None = None,
    user_name: str = "ana",
) -> SignedRequest:
    """A message shortcut (a message's ⋮ menu): the message, its channel, a response URL."""
    payload: Json = {
        "type": "message_action",
        "callback_id": callback_id,
        "action_ts": f"{time.time():.6f}",
        "message_ts": message.get("ts", "1700000000.000100"),
        "user": _user(user_id, team_id, user_name),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": "test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "ops"},
        "message": message,
        "response_url": response_url,
    }
    return _signed_payload(payload, secret, timestamp)
