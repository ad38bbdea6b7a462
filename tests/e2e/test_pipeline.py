"""The pipeline end to end: preflight refuses doomed operations before anyone is pinged, an
approval the world has overtaken ends "no longer applicable", a newer request supersedes
the older one for the same deployment, and a policy change decides pending requests.

Default policy: read and change run at once; spend and destructive operations need one
admin's approval, not the requester's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.core import approvals as msg
from bot.db.audit import AuditLog
from bot.services.deployments import Actor
from bot.slack_local.fake_api import SlackCall
from tests.e2e.harness import (
    ADMIN,
    CHANNEL,
    MEMBER,
    TEAM,
    SlackEnv,
    buttons,
    message_text,
    slack_env,
)

STOP = r".*/deployments/[^/]+/stop"
SCALE = r".*/deployments/[^/]+/update-replica-count"


@pytest.fixture
async def env(db_url: str, tmp_path: Any) -> AsyncIterator[SlackEnv]:
    async with slack_env(db_url, tmp_path, policy=None) as running:
        yield running


def nosana_id(env: SlackEnv, name: str) -> str:
    return next(d.id for d in env.api("nosana").deployments.values() if d.name == name)


def requests_posted(env: SlackEnv) -> list[SlackCall]:
    return [
        c
        for c in env.calls("chat.postMessage")
        if msg.CANCEL in buttons(c.body) and not c.body.get("thread_ts")
    ]


def dms(env: SlackEnv) -> list[SlackCall]:
    return [c for c in env.calls("chat.postMessage") if c.body["channel"] == ADMIN]


def thread_of(env: SlackEnv, post: SlackCall) -> list[str]:
    ts = post.response["ts"]
    return [
        str(c.body["text"]) for c in env.calls("chat.postMessage") if c.body.get("thread_ts") == ts
    ]


def last_update(env: SlackEnv, post: SlackCall) -> str:
    ts = post.response["ts"]
    [*_, body] = [c.body for c in env.calls("chat.update") if c.body.get("ts") == ts]
    assert msg.APPROVE not in buttons(body)  # decided: the buttons are gone
    return message_text(body)


def note(env: SlackEnv, key: str | None) -> str:
    return str(env.last_response(key)["text"])


async def audit_rows(env: SlackEnv) -> list[Any]:
    return await AuditLog(env.storage.engine).export(team_id=TEAM)


# -- preflight ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "status", "expected"),
    [
        ("stop llama3-chat", "STOPPED", "llama3-chat is already stopped on Nosana: it can"),
        (
            "archive llama3-chat",
            "RUNNING",
            "llama3-chat is running on Nosana, so `archive` is not possible now",
        ),
        ("start llama3-chat", "RUNNING", "llama3-chat is already running on Nosana: it can"),
    ],
)
async def test_a_doomed_operation_is_refused_at_once_and_nobody_is_pinged(
    env: SlackEnv, command: str, status: str, expected: str
) -> None:
    env.api("nosana").force_status(nosana_id(env, "llama3-chat"), status)
    answer = await env.command(command, user=MEMBER)
    [reply] = env.responses(answer.response_key)
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith(":warning: " + expected)
    assert "it can" in reply["text"]
    assert requests_posted(env) == []
    assert dms(env) == []
    assert env.api("nosana").count("POST", r".*/deployments/.*") == 0
    rows = await audit_rows(env)
    assert [(r.action, r.decision, r.result) for r in rows] == [
        (command.split(maxsplit=1)[0], "preflight", "refused")
    ]


async def test_a_doomed_chain_is_refused_before_the_policy_is_asked(env: SlackEnv) -> None:
    env.api("nosana").force_status(nosana_id(env, "llama3-chat"), "STOPPED")
    answer = await env.command("llama3-chat stop, archive", user=MEMBER)
    said = note(env, answer.response_key)
    assert "llama3-chat is already stopped on Nosana: it can" in said
    assert requests_posted(env) == [] and dms(env) == []


# -- approvals that mean what they say ----------------------------------------------------------


async def test_a_request_made_stale_ends_no_longer_applicable_without_a_provider_call(
    env: SlackEnv,
) -> None:
    await env.command("stop llama3-chat", user=MEMBER)
    [post] = requests_posted(env)
    request_id = buttons(post.body)[msg.APPROVE]
    # Meanwhile the deployment stopped by itself (or from the provider's dashboard).
    env.api("nosana").force_status(nosana_id(env, "llama3-chat"), "STOPPED")

    click = await env.click(msg.APPROVE, request_id, user=ADMIN)
    assert click.status == 200
    assert env.api("nosana").count("POST", STOP) == 0
    final = last_update(env, post)
    assert "no longer applicable" in final and "already stopped on Nosana" in final
    [said] = thread_of(env, post)
    assert said.startswith(f"<@{MEMBER}>, no longer applicable: llama3-chat is already stopped")
    row = await env.bot.gate.approvals.get(request_id)
    assert row is not None and row.state == "not_applicable" and row.open_key is None
    # The same request can be asked again (it is closed), and a second click changes nothing.
    again = await env.click(msg.APPROVE, request_id, user=ADMIN)
    assert again.status == 200
    assert env.api("nosana").count("POST", STOP) == 0


async def test_a_request_for_a_deployment_that_is_gone_ends_no_longer_applicable(
    env: SlackEnv,
) -> None:
    await env.command("stop llama3-chat", user=MEMBER)
    [post] = requests_posted(env)
    request_id = buttons(post.body)[msg.APPROVE]
    # Meanwhile someone stopped and deleted it outside this request.
    llama = nosana_id(env, "llama3-chat")
    env.api("nosana").force_status(llama, "STOPPED")
    client = await env.bot.service.client(Actor(TEAM, ADMIN, None, CHANNEL), "nosana")
    await client.delete(llama)
    assert llama not in env.api("nosana").deployments
    await env.click(msg.APPROVE, request_id, user=ADMIN)
    assert env.api("nosana").count("POST", STOP) == 0
    assert "no longer exists" in last_update(env, post)


async def test_a_newer_request_supersedes_the_older_one_for_the_same_deployment(
    env: SlackEnv,
) -> None:
    await env.command("scale sd-render-batch 9", user=MEMBER)
    await env.command("scale sd-render-batch 0", user=MEMBER)
    first, second = requests_posted(env)
    first_id = buttons(first.body)[msg.APPROVE]
    assert "Superseded" in last_update(env, first)
    assert any("a newer request" in t for t in thread_of(env, first))
    refused = await env.click(msg.APPROVE, first_id, user=ADMIN)
    assert refused.status == 200
    assert env.api("nosana").count("POST", SCALE) == 0
    # Only the newest request is open, and it runs.
    await env.click(msg.APPROVE, buttons(second.body)[msg.APPROVE], user=ADMIN)
    assert env.api("nosana").deployment(nosana_id(env, "sd-render-batch")).replicas == 0
    pending = await env.bot.gate.approvals.pending(team_id=TEAM)
    assert pending == []


async def test_a_policy_change_runs_what_no_longer_needs_approval(env: SlackEnv) -> None:
    await env.command("stop llama3-chat", user=MEMBER, channel=CHANNEL)
    [post] = requests_posted(env)
    assert env.api("nosana").count("POST", STOP) == 0
    await env.command("policy destructive allow", user=ADMIN)
    assert env.api("nosana").count("POST", STOP) == 1
    thread = thread_of(env, post)
    assert any("no longer needs approval" in t for t in thread)
    request_id = buttons(post.body)[msg.APPROVE]
    row = await env.bot.gate.approvals.get(request_id)
    assert row is not None and row.state == "done"


async def test_a_policy_change_that_refuses_ends_the_pending_request(env: SlackEnv) -> None:
    await env.command("stop llama3-chat", user=MEMBER, channel=CHANNEL)
    [post] = requests_posted(env)
    await env.command("policy stop deny", user=ADMIN)
    assert env.api("nosana").count("POST", STOP) == 0
    assert "Resolved by a policy change" in last_update(env, post)
    assert any("now refuses this" in t for t in thread_of(env, post))
    pending = await env.bot.gate.approvals.pending(team_id=TEAM)
    assert pending == []


async def test_a_policy_change_keeps_what_still_needs_approval(env: SlackEnv) -> None:
    await env.command("stop llama3-chat", user=MEMBER, channel=CHANNEL)
    await env.command("policy spend allow", user=ADMIN)
    pending = await env.bot.gate.approvals.pending(team_id=TEAM)
    assert [r.summary for r in pending] and env.api("nosana").count("POST", STOP) == 0
    assert CHANNEL


# -- money ----------------------------------------------------------------------------------------


async def test_a_deposit_larger_than_the_balance_is_refused_at_once(env: SlackEnv) -> None:
    akash = env.api("akash")
    akash.set_balance(env.keys["akash"], "3")
    dseq = "1793523600000"  # the demo's running deployment
    answer = await env.command(f"deposit {dseq} 50", user=MEMBER)
    said = note(env, answer.response_key)
    assert said.startswith(":warning: ") and "$50" in said and "$3" in said
    assert requests_posted(env) == [] and dms(env) == []
    assert akash.count("POST", r".*/deposit") == 0


async def test_a_scale_that_runs_the_credits_out_within_a_day_warns_the_approvers(
    env: SlackEnv,
) -> None:
    env.api("nosana").set_credits(env.keys["nosana"], 10)
    await env.command("scale llama3-chat 20", user=MEMBER)
    [post] = requests_posted(env)
    text = message_text(post.body)
    assert ":warning:" in text and "run out" in text
    assert env.api("nosana").count("POST", SCALE) == 0


# -- deciding by command ------------------------------------------------------------------------


async def test_a_request_is_approved_denied_or_cancelled_by_its_id(env: SlackEnv) -> None:
    await env.command("stop llama3-chat", user=MEMBER)
    [post] = requests_posted(env)
    request_id = buttons(post.body)[msg.APPROVE]
    listed = await env.command("approvals", user=ADMIN)
    assert f"`{request_id}`" in note(env, listed.response_key)

    refused = await env.command(f"approve {request_id}", user=MEMBER)  # not their own
    assert "can't approve" in note(env, refused.response_key)
    assert env.api("nosana").count("POST", STOP) == 0

    approved = await env.command(f"approve {request_id}", user=ADMIN)
    assert "Approved" in note(env, approved.response_key)
    assert env.api("nosana").count("POST", STOP) == 1
    again = await env.command(f"approve {request_id}", user=ADMIN)
    assert "already" in note(env, again.response_key)
    assert env.api("nosana").count("POST", STOP) == 1

    await env.command("stop comfyui-dev", user=MEMBER)
    second = buttons(requests_posted(env)[-1].body)[msg.APPROVE]
    denied = await env.command(f"deny {second} not during the demo", user=ADMIN)
    assert "Denied" in note(env, denied.response_key)
    assert "not during the demo" in last_update(env, requests_posted(env)[-1])

    await env.command("stop eval-sweep", user=MEMBER)
    third = buttons(requests_posted(env)[-1].body)[msg.APPROVE]
    cancelled = await env.command(f"cancel {third}", user=MEMBER)
    assert "Cancelled" in note(env, cancelled.response_key)
    assert env.api("nosana").count("POST", STOP) == 1
    bad = await env.command("approve nope", user=ADMIN)
    assert "is not a request id" in message_text(bad.body)
