"""Approvals end to end: signed requests → the app → fake Slack and the sandboxes.

The workspace keeps deploybot's default policy here: read and change run at once; spend and
destructive operations need one admin's approval, not the requester's.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from bot.cli import verify_audit
from bot.core import approvals as msg
from bot.core import modals
from bot.core.step_preview import per_hour
from bot.db.audit import AuditLog
from bot.services.deployments import Actor
from bot.slack_local import payloads
from bot.slack_local.fake_api import SlackCall
from tests.e2e.harness import (
    ADMIN,
    CHANNEL,
    MEMBER,
    TEAM,
    SlackEnv,
    buttons,
    message_text,
    replica,
    slack_env,
)

ADMIN2 = "UADMIN2"
OTHER = "U222"
OPS = "C0OPS"
STOP = r".*/deployments/[^/]+/stop"
ACTOR = Actor(team_id=TEAM, user_id=MEMBER, channel_id=CHANNEL)


@pytest.fixture
async def env(db_url: str, tmp_path: Any) -> AsyncIterator[SlackEnv]:
    async with slack_env(db_url, tmp_path, policy=None) as running:
        running.slack.add_user(OTHER, team_id=TEAM, name="olga")
        yield running


def nosana_id(env: SlackEnv, name: str) -> str:
    return next(d.id for d in env.api("nosana").deployments.values() if d.name == name)


def stops(env: SlackEnv) -> int:
    return int(env.api("nosana").count("POST", STOP))


def request_posts(env: SlackEnv) -> list[SlackCall]:
    """The approval requests posted to channels (not the DMs: those have no Cancel)."""
    return [
        c
        for c in env.calls("chat.postMessage")
        if msg.CANCEL in buttons(c.body) and not c.body.get("thread_ts")
    ]


def the_request(env: SlackEnv) -> tuple[SlackCall, str]:
    [post] = request_posts(env)
    return post, buttons(post.body)[msg.APPROVE]


def updates_of(env: SlackEnv, post: SlackCall) -> list[dict[str, Any]]:
    ts = post.response["ts"]
    return [c.body for c in env.calls("chat.update") if c.body.get("ts") == ts]


def thread_of(env: SlackEnv, post: SlackCall) -> list[dict[str, Any]]:
    ts = post.response["ts"]
    return [c.body for c in env.calls("chat.postMessage") if c.body.get("thread_ts") == ts]


def note(env: SlackEnv, key: str | None) -> str:
    return str(env.last_response(key)["text"])


async def audit_rows(env: SlackEnv) -> list[Any]:
    return await AuditLog(env.storage.engine).export(team_id=TEAM)


async def ask_to_stop(env: SlackEnv, user: str = MEMBER, channel: str = CHANNEL) -> str:
    answer = await env.command(
        "stop llama3-chat --reason 'freeing the GPU'", user=user, channel=channel
    )
    return note(env, answer.response_key)


# -- the request ------------------------------------------------------------------------------


async def test_a_destructive_operation_waits_for_an_admin_and_then_runs_once(
    env: SlackEnv,
) -> None:
    said = await ask_to_stop(env)
    assert "needs approval by an admin" in said and f"<#{CHANNEL}>" in said
    assert stops(env) == 0

    post, request_id = the_request(env)
    assert post.body["channel"] == CHANNEL
    text = message_text(post.body)
    assert f"<@{MEMBER}> asks to run a destructive operation" in text
    assert "llama3-chat" in text and "stop" in text and "freeing the GPU" in text
    assert "expires <!date^" in text
    assert set(buttons(post.body)) >= {msg.APPROVE, msg.DENY, msg.CANCEL}
    # The admin got a DM with Approve and Deny.
    dms = [c for c in env.calls("chat.postMessage") if c.body["channel"] == ADMIN]
    assert len(dms) == 1 and set(buttons(dms[0].body)) == {msg.APPROVE, msg.DENY}

    click = await env.click(msg.APPROVE, request_id, user=ADMIN)
    assert click.status == 200
    assert stops(env) == 1
    final = updates_of(env, post)[-1]
    assert f"Approved by <@{ADMIN}> and done" in message_text(final)
    assert msg.APPROVE not in buttons(final)  # the buttons are gone
    [result] = thread_of(env, post)
    assert "stopped *llama3-chat*" in result["text"]

    # A double click (or a late one) changes nothing.
    again = await env.click(msg.APPROVE, request_id, user=ADMIN)
    assert "already done" in note(env, again.response_key)
    assert stops(env) == 1

    rows = await audit_rows(env)
    assert [(r.action, r.decision, r.result) for r in rows] == [
        ("stop", "approval", "pending"),
        ("approve", "vote", "counted"),
        ("stop", "approved", "ok"),
    ]
    assert rows[-1].approvers == [ADMIN] and rows[-1].user_id == MEMBER
    assert rows[0].params["reason"] == "freeing the GPU"
    assert (await AuditLog(env.storage.engine).verify()).ok


async def test_scaling_up_shows_replicas_and_cost_before_and_after(env: SlackEnv) -> None:
    await env.command("scale llama3-chat 1", user=MEMBER)  # scaling down runs at once
    assert not request_posts(env)
    await env.command("scale llama3-chat 3", user=MEMBER)
    post, _ = the_request(env)
    text = message_text(post.body)
    assert "spend operation" in text and "replicas 1 → 3" in text
    assert "/h →" in text  # cost per hour before → after


async def test_someone_who_is_not_an_approver_cannot_approve(env: SlackEnv) -> None:
    await ask_to_stop(env)
    _, request_id = the_request(env)
    click = await env.click(msg.APPROVE, request_id, user=OTHER)
    assert "You can't approve this: only an admin can approve this." in note(
        env, click.response_key
    )
    assert stops(env) == 0
    assert env.last_response(click.response_key)["response_type"] == "ephemeral"


async def test_self_approval_is_blocked_and_the_message_says_who_can(env: SlackEnv) -> None:
    await ask_to_stop(env, user=ADMIN)
    post, request_id = the_request(env)
    # ADMIN is the only admin: the request says how to get out of that.
    assert "Nobody else can approve this yet" in message_text(post.body)
    click = await env.click(msg.APPROVE, request_id, user=ADMIN)
    assert "you asked for this" in note(env, click.response_key)
    assert stops(env) == 0

    # An admin allows self-approval for destructive operations: the next request can be.
    await env.command("policy destructive approve self", user=ADMIN)
    await env.command("stop llama3-chat", user=ADMIN)
    second = request_posts(env)[-1]
    await env.click(msg.APPROVE, buttons(second.body)[msg.APPROVE], user=ADMIN)
    assert stops(env) == 1


async def test_deny_with_a_reason_is_final(env: SlackEnv) -> None:
    await ask_to_stop(env)
    post, request_id = the_request(env)
    opened = await env.click(msg.DENY, request_id, user=ADMIN)
    assert opened.status == 200
    [view] = [c.body["view"] for c in env.calls("views.open")]
    assert view["callback_id"] == msg.DENY_VIEW and view["private_metadata"] == request_id
    await env.submit(
        msg.DENY_VIEW,
        payloads.input_values({(msg.DENY_BLOCK, msg.DENY_ACTION): "not during the demo"}),
        private_metadata=request_id,
        user=ADMIN,
    )
    final = updates_of(env, post)[-1]
    assert f"Denied by <@{ADMIN}>: “not during the demo”" in message_text(final)
    assert msg.APPROVE not in buttons(final)
    assert any("denied this" in t["text"] for t in thread_of(env, post))
    late = await env.click(msg.APPROVE, request_id, user=ADMIN)
    assert "already denied" in note(env, late.response_key)
    assert stops(env) == 0


async def test_a_non_approver_cannot_open_the_deny_form(env: SlackEnv) -> None:
    await ask_to_stop(env)
    _, request_id = the_request(env)
    click = await env.click(msg.DENY, request_id, user=OTHER)
    assert "You can't deny this" in note(env, click.response_key)
    assert env.calls("views.open") == []


async def test_the_requester_can_cancel_and_nobody_else(env: SlackEnv) -> None:
    await ask_to_stop(env)
    post, request_id = the_request(env)
    other = await env.click(msg.CANCEL, request_id, user=OTHER)
    assert f"Only <@{MEMBER}>, who asked, can cancel" in note(env, other.response_key)
    await env.click(msg.CANCEL, request_id, user=MEMBER)
    assert f"Cancelled by <@{MEMBER}>" in message_text(updates_of(env, post)[-1])
    late = await env.click(msg.APPROVE, request_id, user=ADMIN)
    assert "already cancelled" in note(env, late.response_key)
    assert stops(env) == 0


async def test_requests_expire_and_approvers_are_reminded_first(env: SlackEnv) -> None:
    start = datetime.now(UTC)
    await ask_to_stop(env)
    post, request_id = the_request(env)
    dms_before = len([c for c in env.calls("chat.postMessage") if c.body["channel"] == ADMIN])

    env.bot.gate.clock = lambda: start + timedelta(minutes=11)
    assert (await env.bot.sweep_once())["reminded"] == 1
    reminders = [c for c in env.calls("chat.postMessage") if c.body["channel"] == ADMIN]
    assert len(reminders) == dms_before + 1 and "Reminder" in reminders[-1].body["text"]
    assert (await env.bot.sweep_once())["reminded"] == 0  # once per step of the backoff

    env.bot.gate.clock = lambda: start + timedelta(minutes=61)
    assert (await env.bot.sweep_once())["expired"] == 1
    assert "Expired" in message_text(updates_of(env, post)[-1])
    assert (await env.bot.sweep_once())["expired"] == 0
    late = await env.click(msg.APPROVE, request_id, user=ADMIN)
    assert "already expired" in note(env, late.response_key)
    assert stops(env) == 0
    assert [r.action for r in await audit_rows(env)][-1] == "expire"


async def test_a_quorum_of_two_counts_distinct_people(env: SlackEnv) -> None:
    env.slack.add_user(ADMIN2, team_id=TEAM, name="chief", is_admin=True)
    await env.command("policy destructive approve by admins quorum 2", user=ADMIN)
    await ask_to_stop(env)
    post, request_id = the_request(env)
    first = await env.click(msg.APPROVE, request_id, user=ADMIN)
    assert "1 of 2 approvals" in note(env, first.response_key)
    assert f"Approved so far by <@{ADMIN}> (1 of 2)" in message_text(updates_of(env, post)[-1])
    twice = await env.click(msg.APPROVE, request_id, user=ADMIN)
    assert "already approved" in note(env, twice.response_key)
    assert stops(env) == 0
    await env.click(msg.APPROVE, request_id, user=ADMIN2)
    assert stops(env) == 1
    assert "Approved by <@UADMIN>, <@UADMIN2> and done" in message_text(updates_of(env, post)[-1])


async def test_a_chain_needs_one_approval_at_its_riskiest_step(env: SlackEnv) -> None:
    deployment = nosana_id(env, "llama3-chat")
    await env.command(f"{deployment} timeout 90, stop", user=MEMBER)
    post, request_id = the_request(env)
    text = message_text(post.body)
    assert "destructive operation" in text and "1. timeout" in text and "2. stop" in text
    # current → new for each step, from what the deployment says
    assert "1. timeout 2 h → 1 h 30 min" in text
    assert "2. stop; cost $0.385/h → $0.00/h" in text
    await env.click(msg.APPROVE, request_id, user=ADMIN)
    assert stops(env) == 1
    assert env.api("nosana").deployment(deployment).timeout == 90
    assert len(request_posts(env)) == 1


async def test_a_chain_compares_each_step_with_what_the_previous_steps_leave(
    env: SlackEnv,
) -> None:
    draft = nosana_id(env, "notebook-draft")  # a draft: costs nothing until started
    client = await env.bot.service.client(ACTOR, "nosana")
    running_cost = Decimal((await client.get(draft)).extras["cost_when_running_per_hour_usd"])
    await env.command(f"{draft} start, timeout 90, scale 2, timeout 75", user=MEMBER)
    post, _ = the_request(env)
    text = message_text(post.body)
    assert "spend operation" in text
    assert f"1. start; cost $0.00/h → {per_hour(running_cost)}" in text
    assert "2. timeout 30 min → 1 h 30 min" in text
    assert (
        f"3. scale: replicas 1 → 2; cost {per_hour(running_cost)} → "
        f"{per_hour(running_cost * 2)}" in text
    )
    assert "4. timeout 1 h 30 min → 1 h 15 min" in text
    steps = post.body["blocks"][0]["text"]["text"].split("in order:\n")[1]
    assert len(steps.splitlines()) == 4 and "?" not in steps


async def test_a_start_shows_the_cost_it_adds(env: SlackEnv) -> None:
    draft = nosana_id(env, "notebook-draft")
    client = await env.bot.service.client(ACTOR, "nosana")
    running_cost = Decimal((await client.get(draft)).extras["cost_when_running_per_hour_usd"])
    await env.command(f"start {draft}", user=MEMBER)
    post, _ = the_request(env)
    assert f"start; cost $0.00/h → {per_hour(running_cost)}" in message_text(post.body)


async def test_a_deposit_from_the_form_waits_for_approval(env: SlackEnv) -> None:
    akash = env.api("akash")
    dseq = next(d.dseq for d in akash.deployments_of(env.keys["akash"]) if d.state == "active")
    before = akash.count("POST", r".*/deposit.*")
    await env.submit(
        modals.DEPOSIT,
        payloads.input_values({(modals.AMOUNT_BLOCK, modals.AMOUNT_ACTION): "5"}),
        private_metadata=json.dumps({"p": "akash", "d": dseq, "c": CHANNEL}),
    )
    post, request_id = the_request(env)
    assert "add $5.00 to the escrow" in message_text(post.body)
    assert akash.count("POST", r".*/deposit.*") == before
    await env.click(msg.APPROVE, request_id, user=ADMIN)
    assert akash.count("POST", r".*/deposit.*") == before + 1


# -- roles and scopes -------------------------------------------------------------------------


async def test_roles_are_granted_and_revoked_by_admins_only(env: SlackEnv) -> None:
    refused = await env.command(f"role grant <@{OTHER}|olga> viewer", user=MEMBER)
    assert "Only deploybot admins can change roles" in note(env, refused.response_key)

    await env.command(f"role grant <@{OTHER}|olga> viewer", user=ADMIN)
    [granted] = [b for b in env.slack.calls_to("response_url") if "made" in b.body.get("text", "")]
    assert f"made <@{OTHER}> a viewer" in granted.body["text"]
    viewer = await env.command("stop llama3-chat", user=OTHER)
    assert "You are a viewer here" in note(env, viewer.response_key)
    listed = await env.command("list", user=OTHER)  # viewers can read
    assert "llama3-chat" in message_text(env.last_response(listed.response_key))
    roles = await env.command("roles", user=OTHER)
    assert f"<@{OTHER}>: viewer" in note(env, roles.response_key)

    await env.command(f"role revoke <@{OTHER}>", user=ADMIN)
    back = await env.command("stop llama3-chat", user=OTHER)
    assert "needs approval" in note(env, back.response_key)
    rows = [(r.action, r.decision) for r in await audit_rows(env)]
    assert rows.count(("role.grant", "deny")) == 1  # the refused attempt is on record too
    assert rows.count(("role.grant", "allow")) == 1 and rows.count(("role.revoke", "allow")) == 1


async def test_a_slack_admin_can_be_demoted_and_a_group_can_be_made_admin(env: SlackEnv) -> None:
    env.slack.add_usergroup("S0OPS", [OTHER])
    await env.command("role grant <!subteam^S0OPS|@ops> admin", user=ADMIN)
    await ask_to_stop(env)
    _, request_id = the_request(env)
    await env.click(msg.APPROVE, request_id, user=OTHER)  # an admin through the group
    assert stops(env) == 1

    await env.command(f"role grant <@{ADMIN}> operator", user=ADMIN)
    demoted = await env.command("policy spend allow", user=ADMIN)
    assert "Only deploybot admins" in note(env, demoted.response_key)


async def test_channel_scope_keeps_a_provider_to_its_channel(env: SlackEnv) -> None:
    await env.command(f"policy channels nosana <#{OPS}|ops>", user=ADMIN)
    outside = await env.command("stop llama3-chat", user=MEMBER)
    assert f"run only from <#{OPS}>" in note(env, outside.response_key)
    assert request_posts(env) == []
    reads = await env.command("show llama3-chat", user=MEMBER)  # reads are not limited
    assert "llama3-chat" in message_text(env.last_response(reads.response_key))
    await env.command("stop llama3-chat", user=MEMBER, channel=OPS)
    [post] = request_posts(env)
    assert post.body["channel"] == OPS
    denied = [r for r in await audit_rows(env) if r.decision == "deny"]
    assert denied and denied[0].action == "stop"


async def test_policy_shows_in_readable_form_and_denies(env: SlackEnv) -> None:
    shown = await env.command("policy", user=MEMBER)
    text = note(env, shown.response_key)
    assert "*spend*: needs approval by an admin, requester excluded, expires after 1 h" in text
    await env.command("policy delete deny on neuranet", user=ADMIN)
    refused = await env.command("delete sdxl-studio", user=MEMBER)
    assert "doesn't allow `delete` on neuranet" in note(env, refused.response_key)


# -- several replicas, restarts ---------------------------------------------------------------


async def test_a_restart_while_pending_loses_nothing(env: SlackEnv) -> None:
    await ask_to_stop(env)
    post, request_id = the_request(env)
    async with replica(env) as restarted:
        await restarted.click(msg.APPROVE, request_id, user=ADMIN)
    assert stops(env) == 1
    assert "and done" in message_text(updates_of(env, post)[-1])


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_fifty_approve_clicks_on_three_replicas_run_it_once(env: SlackEnv) -> None:
    approvers = [f"UADM{i:02d}" for i in range(50)]
    for user in approvers:
        env.slack.add_user(user, team_id=TEAM, name=user.lower(), is_admin=True)
    await ask_to_stop(env)
    post, request_id = the_request(env)
    async with replica(env) as second, replica(env) as third:
        instances = [env, second, third]
        answers = await asyncio.gather(
            *(
                instances[i % 3].click(msg.APPROVE, request_id, user=user, settle=False)
                for i, user in enumerate(approvers)
            )
        )
        assert all(a.status == 200 for a in answers)
        for instance in instances:
            await instance.settle()
    assert stops(env) == 1
    assert len(thread_of(env, post)) == 1
    row = await env.bot.gate.approvals.get(request_id)
    assert row is not None and row.state == "done"
    executed = [r for r in await audit_rows(env) if r.decision == "approved"]
    assert len(executed) == 1
    assert (await AuditLog(env.storage.engine).verify()).ok


# -- audit ------------------------------------------------------------------------------------


async def test_audit_shows_filters_and_exports(env: SlackEnv) -> None:
    await ask_to_stop(env)
    _, request_id = the_request(env)
    await env.click(msg.APPROVE, request_id, user=ADMIN)
    shown = await env.command(f"audit 5 <@{MEMBER}|ana>", user=OTHER)
    text = note(env, shown.response_key)
    assert "stop" in text and "approved → ok" in text and f"approved by <@{ADMIN}>" in text

    refused = await env.command("audit export", user=MEMBER)
    assert "Only deploybot admins can export" in note(env, refused.response_key)
    await env.command("audit export json", user=ADMIN)
    [uploaded] = [f for f in env.slack.files.values() if f["completed"]]
    assert uploaded["channel"] == CHANNEL and uploaded["name"].endswith(".json")
    rows = json.loads(uploaded["content"])
    assert [r["action"] for r in rows][:3] == ["stop", "approve", "stop"]
    assert "freeing the GPU" in uploaded["content"].decode()

    await env.command("audit export", user=ADMIN)
    csv_file = [f for f in env.slack.files.values() if f["name"].endswith(".csv")]
    assert csv_file and csv_file[0]["content"].decode().startswith("seq,time,team_id")


async def test_audit_verify_finds_an_edited_row(
    env: SlackEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    await ask_to_stop(env)
    _, request_id = the_request(env)
    await env.click(msg.APPROVE, request_id, user=ADMIN)
    assert await verify_audit(env.settings) == 0
    async with env.storage.engine.begin() as conn:
        await conn.execute(
            text("UPDATE audit_log SET user_id = :u WHERE seq = 2 AND team_id = :t"),
            {"u": OTHER, "t": TEAM},
        )
    assert await verify_audit(env.settings) == 1
    out = capsys.readouterr().out
    assert f"workspace {TEAM}, entry #2: its contents don't match its hash" in out
    shown = await env.command("audit verify", user=ADMIN)
    assert "entry #2" in note(env, shown.response_key)


async def test_the_same_request_twice_is_filed_once(env: SlackEnv) -> None:
    await ask_to_stop(env)
    again = await env.command("stop llama3-chat --reason 'freeing the GPU'", user=MEMBER)
    assert "already waits for approval" in note(env, again.response_key)
    assert len(request_posts(env)) == 1
    _, request_id = the_request(env)
    await env.click(msg.DENY, request_id, user=ADMIN)
    await env.submit(
        msg.DENY_VIEW,
        payloads.input_values({(msg.DENY_BLOCK, msg.DENY_ACTION): ""}),
        private_metadata=request_id,
        user=ADMIN,
    )
    await ask_to_stop(env)  # once decided, the same request can be filed again
    assert len(request_posts(env)) == 2


async def test_app_home_lists_approvals_waiting_for_me_and_approves_from_there(
    env: SlackEnv,
) -> None:
    await ask_to_stop(env)
    _, request_id = the_request(env)
    await env.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    [home] = [c.body for c in env.calls("views.publish") if c.body.get("user_id") == ADMIN]
    text = json.dumps(home["view"])
    assert "Approvals waiting for you* (1)" in text and "llama3-chat" in text
    assert "New Nosana deployment" in text
    # The requester sees none: nobody waits on them.
    await env.event({"type": "app_home_opened", "user": MEMBER, "tab": "home"})
    mine = [c.body for c in env.calls("views.publish") if c.body.get("user_id") == MEMBER][-1]
    assert "None right now" in json.dumps(mine["view"])
    # A click in Home has no response URL: the approval still runs, once.
    await env.post(
        payloads.block_actions(
            secret=env.secret,
            action_id=msg.APPROVE,
            value=request_id,
            response_url="",
            team_id=TEAM,
            user_id=ADMIN,
            view={"id": "VHOME", "type": "home"},
        )
    )
    await env.settle()
    assert stops(env) == 1
