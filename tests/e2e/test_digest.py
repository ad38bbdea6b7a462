"""The daily digest over HTTP, on SQLite and PostgreSQL: admins set it; each day's digest is
one job, posted once with two instances' workers running, and it files the next day's."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from bot.db.budget_store import SAMPLES
from tests.e2e.harness import ADMIN, MEMBER, TEAM, SlackEnv, replica
from tests.e2e.test_timers import Shift, _settle, _use

OPS = "C222"


def _digests(env: SlackEnv) -> list[dict[str, object]]:
    return [
        c.body
        for c in env.calls("chat.postMessage")
        if c.body.get("channel") == OPS and "Daily digest" in str(c.body.get("text", ""))
    ]


async def test_the_digest_is_set_by_admins_and_posted_once_a_day_by_two_instances(
    env: SlackEnv,
) -> None:
    shift = Shift()
    _use(shift, env)
    assert env.bot.jobs is not None
    store = env.bot.jobs.store
    refused = await env.command(f"digest daily 09:00 <#{OPS}|ops>", user=MEMBER)
    assert "admin" in env.last_response(refused.response_key)["text"]
    assert await store.scheduled("digest", TEAM) == []

    answer = await env.command(f"digest daily 09:00 <#{OPS}|ops>", user=ADMIN)
    said = env.last_response(answer.response_key)["text"]
    assert f"<#{OPS}>" in said and "09:00 (UTC+0)" in said, said
    [first] = await store.scheduled("digest", TEAM)
    due = datetime.fromtimestamp(first.run_after, UTC)
    assert (due.hour, due.minute) == (9, 0) and 0 < first.run_after - time.time() <= 86400
    assert first.key == f"digest:{TEAM}:{due.date().isoformat()}"

    # the watcher's burn history for NeuraNET: $3/h from two days before the digest, $1/h from
    # noon the day before it (yesterday's NeuraNET spend: 12 h × $3 + 12 h × $1 = $48; what ran
    # there at its price now would say 24 h × $1.50 = $36)
    noon = datetime.combine((due - timedelta(days=1)).date(), datetime.min.time(), UTC)
    noon += timedelta(hours=12)
    async with env.storage.engine.begin() as conn:
        await conn.execute(
            insert(SAMPLES),
            [
                {
                    "team_id": TEAM,
                    "provider": "neuranet",
                    "at": first.run_after - 2 * 86400,
                    "per_hour": 3.0,
                    "enterprise_id": "",
                },
                {
                    "team_id": TEAM,
                    "provider": "neuranet",
                    "at": noon.timestamp(),
                    "per_hour": 1.0,
                    "enterprise_id": "",
                },
            ],
        )
    async with replica(env) as other:
        _use(shift, other)
        shift.by = first.run_after - time.time() + 5
        await _settle(env, other)
        await _settle(env, other)
    [digest] = _digests(env)
    text = str(digest.get("text")) + str(digest.get("blocks"))
    yesterday = (due - timedelta(days=1)).date().isoformat()
    assert f"Daily digest for {yesterday}" in text
    assert "Spend yesterday" in text and "Running now" in text and "Alerts yesterday" in text
    assert "NeuraNET $48.00" in text, text  # from the recorded burn, not the estimate
    running = [d for d in env.api("nosana").deployments.values() if d.status == "RUNNING"]
    assert running and all(d.name in text for d in running[:3])
    # the next day's is filed, once
    [following] = await store.scheduled("digest", TEAM)
    assert following.run_after == first.run_after + 86400
    assert following.key == f"digest:{TEAM}:{(due + timedelta(days=1)).date().isoformat()}"

    shown = await env.command("digest", user=MEMBER)
    assert "09:00" in env.last_response(shown.response_key)["text"]
    off = await env.command("digest off", user=ADMIN)
    assert "turned the daily digest off" in env.last_response(off.response_key)["text"]
    assert await store.scheduled("digest", TEAM) == []
    shift.by += 86400 + 5
    await _settle(env)
    assert len(_digests(env)) == 1
