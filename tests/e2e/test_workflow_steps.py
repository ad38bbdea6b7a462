"""Workflow Builder steps over HTTP: ``function_executed`` events shaped like Slack's → the
pipeline → ``functions.completeSuccess`` / ``functions.completeError`` on the fake Slack API.
Each step completing and failing; a step that needs approval completing when it is approved
(or failing with the reason when denied); a redelivered event completing once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.core import approvals as msg
from bot.core import workflow_steps as steps
from bot.services.deployments import Actor
from bot.slack_local import payloads
from tests.e2e.harness import ADMIN, CHANNEL, MEMBER, TEAM, SlackEnv, buttons, slack_env

pytestmark = pytest.mark.asyncio

STEP_TOKEN = "xwfp-step-token"
RUN_AS = {"id": MEMBER, "secret": "c2VjcmV0"}


@pytest.fixture
async def env(db_url: str, tmp_path: Any) -> AsyncIterator[SlackEnv]:
    """Default policy: spend and destructive operations need an admin's approval."""
    async with slack_env(db_url, tmp_path, policy=None) as running:
        running.slack.add_token(STEP_TOKEN, TEAM)
        yield running


@pytest.fixture
async def open_env(db_url: str, tmp_path: Any) -> AsyncIterator[SlackEnv]:
    """Everything runs at once."""
    async with slack_env(db_url, tmp_path) as running:
        running.slack.add_token(STEP_TOKEN, TEAM)
        yield running


async def run_step(
    env: SlackEnv, callback_id: str, inputs: dict[str, Any], *, execution_id: str | None = None
) -> str:
    execution = execution_id or f"Fx{len(env.slack.calls):06d}{callback_id[:4].upper()}"
    answer = await env.post(
        payloads.function_executed(
            secret=env.secret,
            callback_id=callback_id,
            inputs=inputs,
            execution_id=execution,
            bot_access_token=STEP_TOKEN,
            team_id=TEAM,
        )
    )
    assert answer.status == 200, answer.raw
    await env.settle()
    return execution


def completions(env: SlackEnv, execution_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The completion calls of one run: (method, body)."""
    return [
        (c.method, c.body)
        for c in env.slack.calls
        if c.method.startswith("functions.complete")
        and c.body.get("function_execution_id") == execution_id
        and not c.failed
    ]


def succeeded(env: SlackEnv, execution_id: str) -> dict[str, Any]:
    found = completions(env, execution_id)
    assert [m for m, _ in found] == ["functions.completeSuccess"], found
    outputs = found[0][1]["outputs"]
    return outputs if isinstance(outputs, dict) else json.loads(outputs)


def failed(env: SlackEnv, execution_id: str) -> str:
    found = completions(env, execution_id)
    assert [m for m, _ in found] == ["functions.completeError"], found
    return str(found[0][1]["error"])


def stops(env: SlackEnv) -> int:
    return int(env.api("nosana").count("POST", r".*/deployments/[^/]+/stop"))


def nosana(env: SlackEnv, name: str) -> Any:
    return next(d for d in env.api("nosana").deployments.values() if d.name == name)


async def test_scale_step_completes_with_the_deployments_outputs(open_env: SlackEnv) -> None:
    env = open_env
    execution = await run_step(
        env,
        steps.SCALE,
        {"deployment": "llama3-chat", "replicas": 2, "run_as": RUN_AS, "channel": CHANNEL},
    )
    outputs = succeeded(env, execution)
    dep = nosana(env, "llama3-chat")
    assert outputs["deployment_id"] == dep.id
    assert outputs["status"] in ("running", "starting")
    assert isinstance(outputs["cost_per_hour"], float) and outputs["cost_per_hour"] > 0
    # completed with the function's own token, and the provider really scaled it
    [call] = [c for c in env.slack.calls if c.method == "functions.completeSuccess"]
    assert call.token == STEP_TOKEN
    client = await env.bot.service.client(Actor(team_id=TEAM, user_id=MEMBER), "nosana")
    assert (await client.get(dep.id)).replicas == 2


async def test_a_redelivered_event_is_one_run_and_one_completion(open_env: SlackEnv) -> None:
    env = open_env
    inputs = {"deployment": "llama3-chat", "replicas": 3, "run_as": RUN_AS}
    execution = await run_step(env, steps.SCALE, inputs, execution_id="FxSAME")
    await run_step(env, steps.SCALE, inputs, execution_id="FxSAME")
    assert succeeded(env, execution)["deployment_id"] == nosana(env, "llama3-chat").id


async def test_a_step_on_an_unknown_deployment_fails_with_the_reason(open_env: SlackEnv) -> None:
    execution = await run_step(
        open_env, steps.START, {"deployment": "no-such-thing", "run_as": RUN_AS}
    )
    assert "no-such-thing" in failed(open_env, execution)


async def test_a_step_without_its_person_fails_at_once(open_env: SlackEnv) -> None:
    execution = await run_step(open_env, steps.STOP, {"deployment": "llama3-chat"})
    assert "Run as" in failed(open_env, execution)
    assert stops(open_env) == 0


async def test_scale_step_refuses_a_bad_replica_count(open_env: SlackEnv) -> None:
    execution = await run_step(
        open_env, steps.SCALE, {"deployment": "llama3-chat", "replicas": -1, "run_as": RUN_AS}
    )
    assert "Replicas" in failed(open_env, execution)


async def test_stop_step_waits_for_approval_and_completes_when_approved(env: SlackEnv) -> None:
    execution = await run_step(
        env, steps.STOP, {"deployment": "llama3-chat", "run_as": RUN_AS, "channel": CHANNEL}
    )
    assert completions(env, execution) == []  # waiting for an admin
    [post] = [c for c in env.calls("chat.postMessage") if msg.CANCEL in buttons(c.body)]
    assert post.body["channel"] == CHANNEL
    request_id = buttons(post.body)[msg.APPROVE]
    assert stops(env) == 0
    await env.click(msg.APPROVE, request_id, user=ADMIN)
    assert stops(env) == 1
    outputs = succeeded(env, execution)
    assert outputs["deployment_id"] == nosana(env, "llama3-chat").id
    assert outputs["status"] in ("stopped", "stopping")
    # the reports of the request's end (there are several) complete it once
    await env.settle()
    assert len(completions(env, execution)) == 1


async def test_stop_step_fails_with_the_reason_when_denied(env: SlackEnv) -> None:
    execution = await run_step(
        env, steps.STOP, {"deployment": "llama3-chat", "run_as": RUN_AS, "channel": CHANNEL}
    )
    [post] = [c for c in env.calls("chat.postMessage") if msg.CANCEL in buttons(c.body)]
    request_id = buttons(post.body)[msg.APPROVE]
    await env.submit(
        msg.DENY_VIEW,
        payloads.input_values({(msg.DENY_BLOCK, msg.DENY_ACTION): "not during the demo"}),
        private_metadata=request_id,
        user=ADMIN,
    )
    error = failed(env, execution)
    assert "denied" in error and "not during the demo" in error
    assert stops(env) == 0


async def test_a_waiting_step_whose_report_was_lost_is_finished_by_its_own_check(
    env: SlackEnv,
) -> None:
    from handlers import functions

    env.bot.gate.lifecycle.on_final.clear()  # the report of the request's end is lost
    execution = await run_step(
        env, steps.STOP, {"deployment": "llama3-chat", "run_as": RUN_AS, "channel": CHANNEL}
    )
    [post] = [c for c in env.calls("chat.postMessage") if msg.CANCEL in buttons(c.body)]
    await env.click(msg.APPROVE, buttons(post.body)[msg.APPROVE], user=ADMIN)
    assert completions(env, execution) == []
    assert env.bot.jobs is not None
    waiting = await env.bot.jobs.store.by_key(f"{functions.WAIT}:{buttons(post.body)[msg.APPROVE]}")
    assert waiting is not None and waiting["run_after"] > 0
    # the check comes due (after the request's expiry)
    from sqlalchemy import text

    async with env.storage.engine.begin() as conn:
        await conn.execute(
            text("UPDATE jobs SET run_after = 0 WHERE key = :k"), {"k": waiting["key"]}
        )
    env.bot.worker.wake()  # type: ignore[union-attr]
    await env.settle()
    assert succeeded(env, execution)["status"] in ("stopped", "stopping")


async def test_create_from_template_step_completes_and_fails(open_env: SlackEnv) -> None:
    env = open_env
    assert env.bot.create is not None  # bounded follow-up of the new deployment
    env.bot.create.poll_interval, env.bot.create.follow_timeout = 0.02, 0.3
    missing = await run_step(
        env, steps.CREATE, {"template": "nope", "run_as": RUN_AS, "channel": CHANNEL}
    )
    assert "nope" in failed(env, missing)

    await env.command("template save llama llama3-chat")
    bad = await run_step(
        env,
        steps.CREATE,
        {"template": "llama", "overrides": "colour=blue", "run_as": RUN_AS, "channel": CHANNEL},
    )
    assert "colour" in failed(env, bad)

    before = len(env.api("nosana").deployments)
    execution = await run_step(
        env,
        steps.CREATE,
        {
            "template": "llama",
            "overrides": "name=from-workflow",
            "run_as": RUN_AS,
            "channel": CHANNEL,
        },
    )
    outputs = succeeded(env, execution)
    assert len(env.api("nosana").deployments) == before + 1
    assert nosana(env, "from-workflow").id == outputs["deployment_id"]
    assert outputs["cost_per_hour"] > 0


async def test_an_unknown_step_fails_instead_of_timing_out(open_env: SlackEnv) -> None:
    execution = await run_step(open_env, "reboot_the_moon", {"run_as": RUN_AS})
    assert "reboot_the_moon" in failed(open_env, execution)


def _claimed(execution: str, inputs: dict[str, Any], callback: str) -> Any:
    from bot.db.jobs import ClaimedJob
    from handlers import functions

    return ClaimedJob(
        id=1,
        key=f"function:{execution}",
        kind=functions.RUN,
        payload={
            "actor": Actor(team_id=TEAM, user_id=MEMBER).as_json(),
            "data": {
                "execution_id": execution,
                "callback_id": callback,
                "inputs": inputs,
                "token": None,
            },
        },
        attempts=4,
        calls=(),
    )


async def test_a_run_given_up_or_taken_over_still_completes_the_step(open_env: SlackEnv) -> None:
    """A worker that died mid-run: the step still ends — failed when deploybot can't tell,
    with the deployment's outputs when the call surely happened."""
    from handlers import jobs

    env = open_env
    inputs = {"deployment": "llama3-chat", "replicas": 2, "run_as": {"id": MEMBER}}
    await jobs.give_up(env.bot, _claimed("FxGAVEUP", inputs, steps.SCALE), "3 tries")
    assert "may or may not have happened" in failed(env, "FxGAVEUP")

    ending = jobs.ENDINGS[_claimed("FxTAKEN", inputs, steps.SCALE).kind]
    await ending(env.bot, _claimed("FxTAKEN", inputs, steps.SCALE), "it was done", True)
    assert succeeded(env, "FxTAKEN")["deployment_id"] == nosana(env, "llama3-chat").id
