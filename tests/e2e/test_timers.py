"""Stop timers over HTTP, on SQLite and PostgreSQL: set, listed, warned about, extended by the
button, cancelled, fired once — also after a restart, with two instances' workers running —
and the stop that needs approval filing its timer only once approved."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.core import approvals as msg
from bot.core import timers as view
from bot.db.audit import AuditLog
from tests.e2e.harness import ADMIN, CHANNEL, MEMBER, TEAM, SlackEnv, buttons, replica, slack_env


class Shift:
    """The job table's clock, moved forward by hand (timers fire by it)."""

    def __init__(self) -> None:
        self.by = 0.0

    def __call__(self) -> float:
        return time.time() + self.by


def _use(shift: Shift, *envs: SlackEnv) -> None:
    for env in envs:
        assert env.bot.jobs is not None and env.bot.worker is not None
        env.bot.jobs.store.clock = shift
        env.bot.worker.poll = 0.05


def _running(env: SlackEnv) -> Any:
    return next(d for d in env.api("nosana").deployments.values() if d.status == "RUNNING")


def _stop_path(dep: Any) -> str:
    return rf".*/deployments/{dep.id}/stop"


def _posts(env: SlackEnv, channel: str, has: str) -> list[dict[str, Any]]:
    return [
        c.body
        for c in env.calls("chat.postMessage")
        if c.body.get("channel") == channel and has in str(c.body.get("text", ""))
    ]


async def _timer_ids(env: SlackEnv) -> list[str]:
    assert env.bot.gate.timers is not None
    return [t.timer_id for t in await env.bot.gate.timers.timers(TEAM)]


async def _actions(env: SlackEnv) -> list[tuple[str, str, str]]:
    rows = await AuditLog(env.storage.engine).export(team_id=TEAM)
    return [(r.action, r.decision, r.result) for r in rows]


async def _settle(*envs: SlackEnv) -> None:
    for env in envs:
        assert await env.bot.work.drain(20)


async def test_a_timer_warns_is_extended_by_its_button_and_fires_once_after_a_restart(
    env: SlackEnv,
) -> None:
    shift = Shift()
    _use(shift, env)
    nosana = env.api("nosana")
    dep = _running(env)
    answer = await env.command(f"stop {dep.name} --after 1h", user=MEMBER)
    await _settle(env)
    said = env.last_response(answer.response_key)
    assert "set stop timer" in said["text"] and "(in 1h)" in said["text"], said
    assert said["response_type"] == "in_channel"
    [timer_id] = await _timer_ids(env)
    assert buttons(said) == {view.EXTEND_ACTION: timer_id, view.CANCEL_ACTION: timer_id}
    assert nosana.count("POST", _stop_path(dep)) == 0

    # a restart: this instance's worker dies; two other instances carry on
    assert env.bot.worker is not None
    await env.bot.worker.kill()
    async with replica(env) as one, replica(env) as two:
        _use(shift, one, two)
        shift.by = 3600 - view.WARN_BEFORE + 5  # the warning is due
        await _settle(one, two)
        [warning] = _posts(env, CHANNEL, "stops in")
        assert timer_id in warning["text"] and "15m" in warning["text"], warning
        assert buttons(warning)[view.EXTEND_ACTION] == timer_id

        click = await one.click(view.EXTEND_ACTION, timer_id, user=MEMBER)
        await _settle(one, two)
        extended = env.last_response(click.response_key)
        assert "extended stop timer" in extended["text"], extended
        assert "(in 1h 15m)" in extended["text"], extended

        shift.by = 3600 + 30  # the first time has passed: nothing happens
        await _settle(one, two)
        assert nosana.count("POST", _stop_path(dep)) == 0
        assert await _timer_ids(env) == [timer_id]

        shift.by = 7200 - view.WARN_BEFORE + 5  # the warning for the new time
        await _settle(one, two)
        assert len(_posts(env, CHANNEL, "stops in")) == 2

        shift.by = 7200 + 5
        await _settle(one, two)
        await _settle(one, two)
    assert nosana.count("POST", _stop_path(dep)) == 1  # once, by one of the two
    fired = _posts(env, CHANNEL, f"Stop timer `{timer_id}`")
    assert len(fired) == 1, fired
    assert nosana.deployments[dep.id].status != "RUNNING"
    assert await _timer_ids(env) == []
    actions = await _actions(env)
    assert ("timer.set", "allow", "ok") in actions
    assert ("timer.extend", "allow", "ok") in actions
    assert ("stop", "allow", "ok") in actions  # the stop itself, audited like any other


async def test_timers_are_listed_and_a_cancelled_one_never_stops(env: SlackEnv) -> None:
    shift = Shift()
    _use(shift, env)
    nosana = env.api("nosana")
    dep = _running(env)
    await env.command(f"stop {dep.id} --after 2h")
    await env.command(f"stop {dep.name} --after 30m")
    await _settle(env)
    listed = await env.command("timers")
    body = env.last_response(listed.response_key)
    ids = await _timer_ids(env)
    assert len(ids) == 2
    text = str(body.get("blocks"))
    assert all(i in text for i in ids) and "in 30m" in text and "in 2h" in text
    first, second = ids  # soonest first
    cancelled = await env.command(f"timers cancel {first}")
    assert "cancelled stop timer" in env.last_response(cancelled.response_key)["text"]
    click = await env.click(view.CANCEL_ACTION, second)
    assert "cancelled stop timer" in env.last_response(click.response_key)["text"]
    again = await env.command(f"timers cancel {second}")
    assert "isn't waiting any more" in env.last_response(again.response_key)["text"]
    shift.by = 3 * 3600
    await _settle(env)
    assert nosana.count("POST", _stop_path(dep)) == 0
    assert _posts(env, CHANNEL, "stops in") == []  # the warnings went with them
    assert await _timer_ids(env) == []
    assert ("timer.cancel", "allow", "ok") in await _actions(env)


async def test_a_timer_on_a_stopped_deployment_is_refused_by_preflight(env: SlackEnv) -> None:
    nosana = env.api("nosana")
    dep = next(d for d in nosana.deployments.values() if d.status == "STOPPED")
    answer = await env.command(f"stop {dep.id} --after 1h")
    said = env.last_response(answer.response_key)["text"]
    assert "set stop timer" not in said and await _timer_ids(env) == []
    assert ("timer.set", "preflight", "refused") in await _actions(env)


async def test_at_is_read_in_the_persons_slack_time_zone(env: SlackEnv) -> None:
    env.slack.add_user(MEMBER, team_id=TEAM, name="ana", tz_offset=2 * 3600)
    dep = _running(env)
    await env.command(f"stop {dep.id} --at 19:30")
    assert env.bot.gate.timers is not None
    [timer] = await env.bot.gate.timers.timers(TEAM)
    fire = time.gmtime(timer.fire_at)
    assert (fire.tm_hour, fire.tm_min) == (17, 30)  # 19:30 at UTC+2
    assert 0 < timer.fire_at - time.time() <= 86400


@pytest.fixture
async def strict(db_url: str, tmp_path: Any) -> AsyncIterator[SlackEnv]:
    """deploybot's default policy: a stop (destructive) needs an admin's approval."""
    async with slack_env(db_url, tmp_path, policy=None) as running:
        yield running


async def test_a_timer_that_needs_approval_starts_once_approved(strict: SlackEnv) -> None:
    env = strict
    shift = Shift()
    _use(shift, env)
    nosana = env.api("nosana")
    dep = _running(env)
    answer = await env.command(f"stop {dep.name} --after 1h", user=MEMBER)
    await _settle(env)
    assert await _timer_ids(env) == []  # nothing until approved
    request = next(c.body for c in env.calls("chat.postMessage") if msg.APPROVE in buttons(c.body))
    assert "A stop timer" in str(request.get("blocks")) and "counted from the approval" in str(
        request.get("blocks")
    )
    shift.by = 600  # approved ten minutes later: the hour counts from here
    await env.click(msg.APPROVE, buttons(request)[msg.APPROVE], user=ADMIN)
    await _settle(env)
    [timer_id] = await _timer_ids(env)
    assert env.bot.gate.timers is not None
    [timer] = await env.bot.gate.timers.timers(TEAM)
    assert abs(timer.fire_at - (time.time() + 600 + 3600)) < 60
    assert nosana.count("POST", _stop_path(dep)) == 0
    shift.by = 600 + 3600 + 5
    await _settle(env)
    assert nosana.count("POST", _stop_path(dep)) == 1  # no second approval at fire time
    assert len(_posts(env, CHANNEL, f"Stop timer `{timer_id}`")) == 1
    actions = await _actions(env)
    assert ("timer.set", "approved", "ok") in actions
    assert ("stop", "approved", "ok") in actions
    assert answer.status == 200


async def test_the_create_forms_stop_after_files_a_timer_once_created(env: SlackEnv) -> None:
    from bot.core import create_views as views
    from tests.e2e.test_create import ACTOR, confirm, review

    assert env.bot.create is not None
    env.bot.create.poll_interval = 0.02
    env.bot.create.follow_timeout = 0.3
    shift = Shift()
    _use(shift, env)
    client = await env.bot.service.client(ACTOR, "neuranet")
    node = next(n for n in await client.nodes() if n.status == "online")
    values = {"name": "nn-timed", "node": node.id, "template_id": "ollama"}
    bad, _ = await review(env, "neuranet", {**values, "stop_after": "soonish"})
    assert bad.body["response_action"] == "errors", bad.body
    assert "stop_after" in bad.body["errors"]
    assert await _timer_ids(env) == []

    answer, _ = await review(env, "neuranet", {**values, "stop_after": "2h"})
    assert answer.body["response_action"] == "update", answer.body
    assert answer.body["view"]["callback_id"] == views.CREATE_REVIEW
    assert "Stop after" in str(answer.body["view"])  # approvers and the person see it
    await confirm(env, answer)
    await _settle(env)
    assert env.bot.gate.timers is not None
    [timer] = await env.bot.gate.timers.timers(TEAM)
    assert timer.name == "nn-timed" and timer.action == "stop"
    assert abs(timer.fire_at - (time.time() + 7200)) < 60
    assert _posts(env, CHANNEL, f"set stop timer `{timer.timer_id}`")
    shift.by = 7200 + 5
    await _settle(env)
    stopped = [d for d in await client.list_deployments() if d.name == "nn-timed"]
    assert stopped and stopped[0].status.value != "running", stopped
    assert len(_posts(env, CHANNEL, f"Stop timer `{timer.timer_id}`")) == 1


async def test_a_policy_change_starts_a_timer_that_waited_for_approval(strict: SlackEnv) -> None:
    env = strict
    dep = _running(env)
    await env.command(f"stop {dep.name} --after 3h", user=MEMBER)
    assert await _timer_ids(env) == []
    await env.command("policy destructive allow", user=ADMIN)
    await _settle(env)
    assert env.bot.gate.timers is not None
    [timer] = await env.bot.gate.timers.timers(TEAM)
    assert timer.deployment_id == dep.id and timer.set_by == MEMBER
    assert abs(timer.fire_at - (time.time() + 3 * 3600)) < 60


async def test_a_viewer_can_list_timers_but_not_change_them(env: SlackEnv) -> None:
    dep = _running(env)
    await env.command(f"stop {dep.id} --after 2h", user=ADMIN)
    [timer_id] = await _timer_ids(env)
    await env.command(f"role grant <@{MEMBER}> viewer", user=ADMIN)
    listed = await env.command("timers", user=MEMBER)
    assert timer_id in str(env.last_response(listed.response_key).get("blocks"))
    refused = await env.command(f"timers cancel {timer_id}", user=MEMBER)
    assert "Viewers can't change stop timers" in env.last_response(refused.response_key)["text"]
    click = await env.click(view.EXTEND_ACTION, timer_id, user=MEMBER)
    assert "Viewers can't" in env.last_response(click.response_key)["text"]
    assert await _timer_ids(env) == [timer_id]
    assert env.bot.gate.timers is not None
    [timer] = await env.bot.gate.timers.timers(TEAM)
    assert abs(timer.fire_at - (time.time() + 7200)) < 60  # not extended


async def test_an_akash_timer_closes_the_deployment(env: SlackEnv) -> None:
    shift = Shift()
    _use(shift, env)
    akash = env.api("akash")
    dep = next(d for d in akash.deployments_of(env.keys["akash"]) if d.state == "active")
    answer = await env.command(f"stop {dep.dseq} --after 1h")
    said = env.last_response(answer.response_key)["text"]
    assert "closes" in said, said  # Akash can't stop: the timer closes
    assert env.bot.gate.timers is not None
    [timer] = await env.bot.gate.timers.timers(TEAM)
    assert timer.action == "close"
    shift.by = 3600 + 5
    await _settle(env)
    assert akash.count("DELETE", rf".*/v1/deployments/{dep.dseq}$") == 1
    assert akash.deployment(str(dep.dseq)).state == "closed"
    assert ("close", "allow", "ok") in await _actions(env)


async def test_no_timers_says_how_to_set_one_in_words_slack_shows(env: SlackEnv) -> None:
    """(The fake Slack rejects a raw ``<deployment>``: it would be a broken token.)"""
    answer = await env.command("timers")
    said = env.last_response(answer.response_key)["text"]
    assert "No stop timers" in said and "&lt;deployment&gt;" in said
