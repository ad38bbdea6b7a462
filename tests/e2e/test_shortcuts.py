"""Shortcuts over HTTP: "New deployment" (provider and channel picker → the create form) and
"Watch in this channel" on a deploybot deployment card (and on a message that isn't one)."""

from __future__ import annotations

import json
import secrets

import pytest

from bot.core import create_views as views
from bot.core import shortcuts as core
from bot.slack_local import payloads
from tests.e2e.harness import CHANNEL, SlackEnv, message_text

pytestmark = pytest.mark.asyncio


def picker_values(provider: str | None, channel: str | None) -> dict[str, object]:
    values: dict[str, object] = {
        core.PROVIDER_BLOCK: {
            core.VALUE: {
                "type": "static_select",
                "selected_option": {"value": provider} if provider else None,
            }
        },
        core.CHANNEL_BLOCK: {core.VALUE: {"type": "channels_select", "selected_channel": channel}},
    }
    return values


async def test_new_deployment_picks_a_provider_then_opens_its_create_form(env: SlackEnv) -> None:
    answer = await env.post(
        payloads.global_shortcut(secret=env.secret, callback_id=core.NEW_DEPLOYMENT)
    )
    await env.settle()
    assert answer.status == 200
    [opened] = env.calls("views.open")
    view = opened.body["view"]
    assert view["callback_id"] == core.PICK_VIEW
    offered = {o["value"] for o in view["blocks"][1]["element"]["options"]}
    assert offered == {"nosana", "akash", "neuranet"}

    missing = await env.submit(core.PICK_VIEW, picker_values("akash", None))
    assert missing.body["response_action"] == "errors"
    assert core.CHANNEL_BLOCK in missing.body["errors"]
    unknown = await env.submit(core.PICK_VIEW, picker_values("aws", CHANNEL))
    assert core.PROVIDER_BLOCK in unknown.body["errors"]

    picked = await env.submit(core.PICK_VIEW, picker_values("akash", "C0OPS"))
    assert picked.body["response_action"] == "update"
    form = picked.body["view"]
    assert form["callback_id"] == views.CREATE_FORM
    assert json.loads(form["private_metadata"]) == {"p": "akash", "c": "C0OPS"}
    assert {"sdl", "image", "max_price", "auto_accept"} <= {
        b.get("block_id") for b in form["blocks"]
    }


async def test_new_deployment_without_providers_says_how_to_connect(
    db_url: str, tmp_path: object
) -> None:
    from tests.e2e.harness import slack_env

    async with slack_env(db_url, tmp_path, connect=()) as env:
        await env.post(payloads.global_shortcut(secret=env.secret, callback_id=core.NEW_DEPLOYMENT))
        await env.settle()
        [opened] = env.calls("views.open")
        assert "/deploy connect" in message_text(opened.body["view"])


async def card_message(env: SlackEnv, name: str) -> dict[str, object]:
    shown = await env.command(f"show {name}")
    reply = env.last_response(shown.response_key)
    return {
        "type": "message",
        "ts": "1700000000.000200",
        "bot_id": "B111",
        "app_id": payloads.APP_ID,
        "text": reply.get("text", ""),
        "blocks": reply["blocks"],
    }


async def watch_shortcut(env: SlackEnv, message: dict[str, object]) -> str:
    key = secrets.token_hex(6)
    answer = await env.post(
        payloads.message_shortcut(
            secret=env.secret,
            callback_id=core.WATCH_HERE,
            message=message,
            response_url=env.slack.response_url(key),
            channel_id="C0OPS",
        )
    )
    assert answer.status == 200
    await env.settle()
    return key


async def test_watch_in_this_channel_on_a_card_watches_that_deployment(env: SlackEnv) -> None:
    message = await card_message(env, "llama3-chat")
    key = await watch_shortcut(env, message)
    said = message_text(env.last_response(key))
    assert "set <#C0OPS> to watch *llama3-chat*" in said
    watching = await env.command("watching")
    listed = message_text(env.last_response(watching.response_key))
    assert "C0OPS" in listed and "llama3-chat" in listed


async def test_watch_in_this_channel_on_another_message_says_so(env: SlackEnv) -> None:
    key = await watch_shortcut(env, {"type": "message", "ts": "1.2", "text": "hi", "user": "U1"})
    assert "isn't one of deploybot's deployment cards" in env.last_response(key)["text"]
    forged = await card_message(env, "llama3-chat")
    forged["app_id"] = "AOTHER"  # another app's message that looks like a card
    key = await watch_shortcut(env, forged)
    assert "isn't one of deploybot's deployment cards" in env.last_response(key)["text"]
