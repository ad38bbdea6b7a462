"""The shortest paths through the app over HTTP: help, list, a change, a bad signature."""

from __future__ import annotations

import pytest

from tests.e2e.harness import SlackEnv, message_text


async def test_help_is_answered_in_the_ack(env: SlackEnv) -> None:
    answer = await env.command("help")
    assert answer.status == 200
    assert answer.body["response_type"] == "ephemeral"
    assert "/deploy list" in message_text(answer.body)
    assert env.calls("chat.postMessage") == []


async def test_list_answers_through_the_response_url(env: SlackEnv) -> None:
    answer = await env.command("list")
    assert answer.status == 200
    assert "Looking" in answer.body["text"]
    final = env.last_response(answer.response_key)
    assert final["replace_original"] is True
    text = message_text(final)
    assert "llama3-chat" in text and "Akash" in text and "NeuraNET" in text


async def test_stop_changes_the_deployment_and_posts_the_card(env: SlackEnv) -> None:
    answer = await env.command("stop comfyui-dev")
    final = env.last_response(answer.response_key)
    assert final["response_type"] == "in_channel"
    assert "stopped *comfyui-dev*" in final["text"]
    assert env.api("nosana").count("POST", r".*/deployments/[^/]+/stop") == 1


@pytest.mark.parametrize("tamper", ["signature", "stale"])
async def test_bad_signature_is_401(env: SlackEnv, tamper: str) -> None:
    import time

    from bot.slack_local import payloads

    request = payloads.slash_command(
        secret=env.secret if tamper == "stale" else "wrong-secret",
        text="list",
        response_url=env.slack.response_url(),
        timestamp=int(time.time()) - 301 if tamper == "stale" else None,
    )
    answer = await env.post(request)
    assert answer.status == 401
    assert env.slack.calls_to("response_url") == []


async def test_every_subscribed_event_has_a_listener(env: SlackEnv) -> None:
    from tests.unit.test_manifest import manifest

    for name in manifest()["settings"]["event_subscriptions"]["bot_events"]:
        event = {"type": name, "user": "U111", "tab": "home", "tokens": {"oauth": ["U111"]}}
        answer = await env.event(event)
        assert answer.status == 200, f"{name}: {answer.status} {answer.raw}"


async def test_app_home_shows_the_connected_providers(env: SlackEnv) -> None:
    await env.event({"type": "app_home_opened", "user": "U111", "tab": "home"})
    (call,) = await env.slack.wait_for("views.publish")
    assert call.body["user_id"] == "U111"
    text = message_text(call.body["view"])
    assert "Nosana" in text and "Akash" in text and "NeuraNET" in text
    assert all(key not in text for key in env.keys.values())
