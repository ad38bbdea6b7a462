"""``/deploy logs <deployment> --follow``: a header in the channel, new lines in its thread,
until Stop following, the time is up, or the deployment stops; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from bot.core import log_follow as words
from tests.e2e.harness import CHANNEL, SlackEnv, buttons, message_text


def _follower(env: SlackEnv) -> Any:
    follower = env.bot.log_follower
    assert follower is not None
    follower.interval = 0.05
    return follower


def _header(env: SlackEnv) -> dict[str, Any]:
    [header] = [
        c.body
        for c in env.calls("chat.postMessage")
        if c.body.get("channel") == CHANNEL
        and not c.body.get("thread_ts")
        and "Following the logs" in c.body.get("text", "")
    ]
    return header


def _thread(env: SlackEnv) -> list[str]:
    return [
        str(c.body.get("text", ""))
        for c in env.calls("chat.postMessage")
        if c.body.get("thread_ts")
    ]


async def _until(check: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


async def test_following_appends_new_lines_then_stops_on_the_button(env: SlackEnv) -> None:
    _follower(env)
    answer = await env.command("logs llama3-chat --follow 5m")
    said = message_text(env.last_response(answer.response_key))
    assert "Following the logs of *llama3-chat*" in said and f"<#{CHANNEL}>" in said
    header = _header(env)
    assert "5 min" in header["text"]
    first = _thread(env)
    assert first and "healthy: uptime" in first[-1]

    env.clock.advance(900)  # the sandbox's container writes three more heartbeats
    await _until(lambda: len(_thread(env)) > len(first))
    new = "\n".join(_thread(env)[len(first) :])
    assert new.count("healthy: uptime") == 3
    assert "uptime 65 min" in new and "uptime 75 min" in new
    assert all(t.count("uptime 65 min") <= 1 for t in _thread(env))  # never posted twice

    follow_id = buttons(header)[words.STOP_ACTION]
    await env.click(words.STOP_ACTION, follow_id)
    await _until(lambda: any("stopped following" in t for t in _thread(env)))
    assert any(t.startswith("_<@") for t in _thread(env))  # who stopped it
    update = env.calls("chat.update")[-1].body
    assert words.STOP_ACTION not in buttons(update)
    assert "stopped following" in message_text(update)
    await asyncio.sleep(0.3)
    polls = env.api("nosana").count("GET", r".*/deployments/[^/]+/jobs.*")
    await asyncio.sleep(0.3)
    assert env.api("nosana").count("GET", r".*/deployments/[^/]+/jobs.*") == polls  # no polls


async def test_following_ends_when_the_time_is_up(env: SlackEnv) -> None:
    follower = _follower(env)
    await env.command("logs llama3-chat --follow 1m")
    follower.clock = lambda: time.time() + 120
    await _until(lambda: any("Stopped following after 1 min" in t for t in _thread(env)))
    assert words.STOP_ACTION not in buttons(env.calls("chat.update")[-1].body)


async def test_following_ends_when_the_deployment_stops(env: SlackEnv) -> None:
    _follower(env)
    await env.command("logs llama3-chat --follow 10m")
    await env.command("stop llama3-chat")
    env.clock.advance(600)
    await _until(lambda: any("Stopped following: it is stopped" in t for t in _thread(env)))
    assert "stopped following: it is stopped" in env.calls("chat.update")[-1].body["text"]


async def test_akash_explains_the_alternative_and_bad_flags_are_refused(env: SlackEnv) -> None:
    from tests.e2e.test_slack_interactions import akash_leased

    akash = await env.command(f"logs {akash_leased(env)[0]} --follow")
    text = json.dumps(env.last_response(akash.response_key))
    assert "Akash can't show logs" in text and "log service" in text
    both = await env.command("logs llama3-chat --follow --file")
    assert "Pick one" in json.dumps(both.body)
    long = await env.command("logs llama3-chat --follow 3h")
    assert "1 minute to 1 hour" in json.dumps(long.body)
