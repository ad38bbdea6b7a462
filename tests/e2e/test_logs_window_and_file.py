"""`/deploy logs`: `--since 1m` is the last minute when the logs are read, and `--file`
uploads the whole log (what the "older lines not shown" note offers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.services.deployments import Actor
from tests.e2e.harness import CHANNEL, MEMBER, TEAM, SlackEnv, message_text

ACTOR = Actor(team_id=TEAM, user_id=MEMBER, channel_id=CHANNEL)


def sandbox_time(env: SlackEnv) -> None:
    """The app reads deployments on the providers' clock (here the sandboxes' manual one)."""
    env.bot.service.clock = lambda: datetime.fromtimestamp(env.clock.now(), UTC)


def log_lines(body: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for block in body.get("blocks") or []:
        text = (block.get("text") or {}).get("text", "")
        if text.startswith("```"):
            lines += text.strip("`\n").split("\n")
    return lines


def reply(env: SlackEnv, key: str | None) -> dict[str, Any]:
    [body] = env.responses(key)
    return body


async def test_since_one_minute_is_exactly_the_last_minute(env: SlackEnv) -> None:
    sandbox_time(env)
    env.clock.advance(30 * 60)  # half an hour of log lines, one every 20 s
    client = await env.bot.service.client(ACTOR, "neuranet")
    deployment = next(d for d in await client.list_deployments() if d.name == "llama-chat")
    now = datetime.fromtimestamp(env.clock.now(), UTC)
    everything = await client.logs(deployment.id, tail=5000)
    expected = [
        line
        for line in everything
        if line.timestamp and line.timestamp >= now - timedelta(minutes=1)
    ]
    assert 0 < len(expected) < len(everything)

    answer = await env.command("logs llama-chat --since 1m")
    shown = log_lines(reply(env, answer.response_key))
    assert [s[:8] for s in shown] == [f"{line.timestamp:%H:%M:%S}" for line in expected]

    # the window is counted when the logs are read: the same command later shows later lines
    env.clock.advance(10 * 60)
    again = await env.command("logs llama-chat --since 1m")
    later = log_lines(reply(env, again.response_key))
    assert later and not set(later) & set(shown)


async def test_since_zero_is_a_usage_answer(env: SlackEnv) -> None:
    answer = await env.command("logs llama-chat --since 0m")
    assert "longer than zero" in answer.body["text"]


async def test_a_clipped_log_offers_the_file_and_file_uploads_every_line(env: SlackEnv) -> None:
    sandbox_time(env)
    env.clock.advance(3 * 3600)  # hundreds of lines: more than one message holds
    answer = await env.command("logs llama-chat --tail 5000")
    body = reply(env, answer.response_key)
    text = message_text(body)
    assert "older lines not shown" in text
    assert "`/deploy logs llama-chat --file` uploads the full log" in text
    shown = log_lines(body)

    upload = await env.command("logs llama-chat --file")
    done = reply(env, upload.response_key)
    [stored] = [f for f in env.slack.files.values() if f["completed"]]
    assert stored["name"].startswith("logs-llama-chat-") and stored["name"].endswith(".txt")
    assert stored["channel"] == CHANNEL
    content = stored["content"].decode()
    rows = content.splitlines()
    client = await env.bot.service.client(ACTOR, "neuranet")
    deployment = next(d for d in await client.list_deployments() if d.name == "llama-chat")
    assert len(rows) == len(await client.logs(deployment.id, tail=10_000)) > len(shown)
    assert all(line.split(" ", 1)[1] in content for line in shown)  # what the message showed too
    assert f"as `{stored['name']}`" in done["text"] and f"{len(rows):,} lines" in done["text"]
    assert "Uploaded the log of *llama-chat*" in done["text"]


async def test_when_slack_refuses_the_file_the_lines_are_shown_with_a_warning(
    env: SlackEnv,
) -> None:
    sandbox_time(env)
    env.clock.advance(600)
    env.slack.fail_next("files.getUploadURLExternal", status=200, error="not_allowed_token_type")
    answer = await env.command("logs llama-chat --file")
    body = reply(env, answer.response_key)
    assert "did not take the log file" in message_text(body)
    assert log_lines(body)
