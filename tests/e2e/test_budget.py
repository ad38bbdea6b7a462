"""Budgets end to end, on SQLite and PostgreSQL: ``/deploy budget`` over signed HTTP, the burn the
watcher records, a cap refusing a scale with the numbers, ``--over-budget`` filing an approval,
and the 80 % / 100 % alerts posted once each (with two replicas polling).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select

from bot.core import approvals as msg
from bot.core import create_views as views
from bot.core.budget import Period, period_start
from bot.db.budget_store import ALERTS, SAMPLES
from bot.db.models import AuditEntry
from bot.slack_local import payloads
from bot.slack_local.fake_api import SlackCall
from bot.watch.runner import WatchRunner
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
from tests.e2e.test_create import (
    QUICK,
    RTX4090,
    _form,
    confirm,
    created_dseq,
    last_status,
    open_form,
    review,
)
from tests.e2e.test_watch import cycle, runner_of, second_instance

ADMIN2 = "UADMIN2"
LLAMA = "llama3-chat"
UPDATE_REPLICAS = r".*/deployments/[^/]+/update-replica-count"


@pytest.fixture
async def env(db_url: str, tmp_path: Any) -> AsyncIterator[SlackEnv]:
    """deploybot's default policy (spends need approval), a second admin to approve."""
    async with slack_env(db_url, tmp_path, policy=None) as running:
        running.slack.add_user(ADMIN2, team_id=TEAM, name="boss2", is_admin=True)
        yield running


def said(env: SlackEnv, key: str | None) -> str:
    return message_text(env.last_response(key))


def llama(env: SlackEnv) -> Any:
    return next(d for d in env.api("nosana").deployments.values() if d.name == LLAMA)


async def nosana_burn(env: SlackEnv) -> Decimal:
    """What the running Nosana deployments cost per hour, as Nosana lists them."""
    client = await env.bot.pool.get(TEAM, "nosana")
    listed = await client.list_deployments()
    return sum(
        (d.cost_per_hour_usd or Decimal(0) for d in listed if d.status.value == "running"),
        Decimal(0),
    )


def budget_posts(env: SlackEnv) -> list[SlackCall]:
    return [
        c
        for c in env.calls("chat.postMessage")
        if "*Budget*" in c.body.get("text", "")
        and (c.body.get("metadata") or {}).get("event_type") == "deploybot_notification"
    ]


async def watched(env: SlackEnv) -> WatchRunner:
    """Nosana watched in the channel, and one poll: the burn is recorded."""
    await env.command("watch nosana")
    runner = runner_of(env.bot)
    await cycle(runner)
    return runner


async def test_budget_shows_the_burn_and_only_admins_set_caps(env: SlackEnv) -> None:
    answer = await env.command("budget")
    shown = said(env, answer.response_key)
    assert "Not tracked yet: Nosana, Akash, NeuraNET" in shown
    assert "Workspace* total — burn $0.00/h" in shown

    await watched(env)
    burn = await nosana_burn(env)
    assert burn > 0
    answer = await env.command("budget")
    shown = said(env, answer.response_key)
    assert f"*Nosana* — burn ${burn.quantize(Decimal('0.01'))}/h" in shown
    assert "Not tracked yet: Akash, NeuraNET" in shown and "no caps" in shown

    answer = await env.command("budget set 50/day nosana", user=MEMBER)
    assert "only deploybot admins can" in said(env, answer.response_key).lower()
    answer = await env.command("budget set 50/day nosana", user=ADMIN)
    reply = env.last_response(answer.response_key)
    assert reply.get("response_type") == "in_channel"
    assert f"<@{ADMIN}> capped Nosana at $50.00/day" in reply["text"]
    await env.command("budget set $2.5/h", user=ADMIN)
    answer = await env.command("budget")
    shown = said(env, answer.response_key)
    assert "caps $50.00/day" in shown and "caps $2.50/h" in shown

    answer = await env.command("budget clear nosana", user=ADMIN)
    assert "removed the budget caps of Nosana" in said(env, answer.response_key)
    answer = await env.command("budget clear nosana", user=ADMIN)
    assert "Nosana had no budget caps" in said(env, answer.response_key)
    answer = await env.command("budget set 10/week", user=ADMIN)
    assert "A cap looks like 10/day" in answer.body["text"]

    async with env.storage.engine.connect() as conn:
        actions = (
            await conn.scalars(select(AuditEntry.action).where(AuditEntry.action.like("budget.%")))
        ).all()
    assert actions == ["budget.set", "budget.set", "budget.clear", "budget.clear"]


async def test_a_cap_refuses_a_scale_with_the_numbers(env: SlackEnv) -> None:
    await watched(env)
    burn = await nosana_burn(env)
    deployment = llama(env)
    per_replica = (await nosana_price(env)).quantize(Decimal("0.0001"))
    cap = (burn + per_replica / 2).quantize(Decimal("0.01"))
    await env.command(f"budget set {cap}/h nosana", user=ADMIN)

    answer = await env.command(f"scale {LLAMA} {deployment.replicas + 2}", user=ADMIN)
    text = said(env, answer.response_key)
    assert f"Over budget: scale {LLAMA} to {deployment.replicas + 2}" in text
    assert f"now ${burn.quantize(Decimal('0.01'))}/h" in text
    assert f"over its ${cap}/h cap" in text
    assert "`--over-budget`" in text
    assert env.api("nosana").count("PATCH", UPDATE_REPLICAS) == 0
    assert llama(env).replicas == deployment.replicas
    assert not [c for c in env.calls("chat.postMessage") if msg.APPROVE in buttons(c.body)]

    # Within the cap it goes on to the policy (here: a spend waits for approval).
    await env.command(f"budget set {cap + per_replica}/h nosana", user=ADMIN)
    answer = await env.command(f"scale {LLAMA} {deployment.replicas + 1}", user=ADMIN)
    assert "needs approval by an admin" in said(env, answer.response_key)


async def nosana_price(env: SlackEnv) -> Decimal:
    client = await env.bot.pool.get(TEAM, "nosana")
    found = await client.get(llama(env).id)
    assert found.cost_per_hour_usd is not None and found.replicas
    return found.cost_per_hour_usd / found.replicas


async def test_over_budget_files_an_approval_that_says_so(env: SlackEnv) -> None:
    await watched(env)
    await env.command("budget set 0.01/h nosana", user=ADMIN)
    replicas = llama(env).replicas

    answer = await env.command(f"scale {LLAMA} {replicas + 1} --over-budget", user=MEMBER)
    assert "only deploybot admins can" in said(env, answer.response_key).lower()
    assert not [c for c in env.calls("chat.postMessage") if msg.APPROVE in buttons(c.body)]

    # Even where the policy lets spends run at once, an over-budget one waits for approval.
    await env.command("policy spend allow", user=ADMIN)
    answer = await env.command(f"scale {LLAMA} {replicas + 1} --over-budget", user=ADMIN)
    assert "needs approval by an admin" in said(env, answer.response_key)
    assert env.api("nosana").count("PATCH", UPDATE_REPLICAS) == 0
    [post] = [
        c
        for c in env.calls("chat.postMessage")
        if msg.CANCEL in buttons(c.body) and not c.body.get("thread_ts")
    ]
    text = message_text(post.body)
    assert "--over-budget: Over budget:" in text and "over its $0.01/h cap" in text

    # A policy change does not let it through without a vote.
    await env.command("policy spend allow", user=ADMIN)
    assert env.api("nosana").count("PATCH", UPDATE_REPLICAS) == 0

    request_id = buttons(post.body)[msg.APPROVE]
    await env.click(msg.APPROVE, request_id, user=ADMIN)  # the requester can't approve
    assert env.api("nosana").count("PATCH", UPDATE_REPLICAS) == 0
    await env.click(msg.APPROVE, request_id, user=ADMIN2)
    assert env.api("nosana").count("PATCH", UPDATE_REPLICAS) == 1
    assert llama(env).replicas == replicas + 1


async def seed_spend(env: SlackEnv, per_hour: Decimal) -> None:
    """History: Nosana burned ``per_hour`` since the start of the day (UTC) until the watcher's
    first sample."""
    start = period_start(Period.DAY, datetime.now(UTC)).timestamp()
    async with env.storage.engine.begin() as conn:
        await conn.execute(
            insert(SAMPLES).values(
                enterprise_id="",
                team_id=TEAM,
                provider="nosana",
                at=start,
                per_hour=float(per_hour),
            )
        )


async def spent_today(env: SlackEnv) -> Decimal:
    assert env.bot.budgets is not None
    scopes, _ = await env.bot.budgets.scopes(TEAM, None)
    return next(s for s in scopes if s.provider == "nosana").today


async def test_alerts_at_80_and_100_percent_are_posted_once_each(env: SlackEnv) -> None:
    runner = await watched(env)
    await seed_spend(env, Decimal(100))
    spent = await spent_today(env)
    assert spent > 0

    # 90 % of the cap is spent: one 80 % alert in the channel watching Nosana.
    cap = (spent / Decimal("0.9")).quantize(Decimal("0.0001"))
    await env.command(f"budget set {cap}/day nosana", user=ADMIN)
    async with second_instance(env) as other:
        other_runner = runner_of(other)
        await cycle(runner, other_runner)
        await cycle(runner, other_runner)
        [first] = budget_posts(env)
        assert first.body["channel"] == CHANNEL
        assert "Nosana spend today (UTC) reached 80% of its" in first.body["text"]
        assert "/day cap" in first.body["text"]

        # Over the cap: one 100 % alert, however many replicas poll, however often.
        lower = (spent / Decimal("1.2")).quantize(Decimal("0.0001"))
        await env.command(f"budget set {lower}/day nosana", user=ADMIN)
        await asyncio.gather(cycle(runner), cycle(other_runner))
        await cycle(runner, other_runner)
        await cycle(runner)
        posts = budget_posts(env)
        assert len(posts) == 2
        assert "Nosana spend today (UTC) reached its" in posts[1].body["text"]
        assert "New spending is refused" in posts[1].body["text"]

    async with env.storage.engine.connect() as conn:
        levels = (await conn.execute(select(ALERTS.c.cap, ALERTS.c.level))).all()
    assert sorted(levels) == [("day", 80), ("day", 100)]
    answer = await env.command("budget")
    shown = said(env, answer.response_key)
    assert "Alerts this period: Nosana 80% of the daily cap; Nosana 100% of the daily cap" in shown
    assert ":rotating_light:" in shown

    # And now any spend on Nosana is refused, with the numbers.
    answer = await env.command(f"scale {LLAMA} {llama(env).replicas + 1}", user=ADMIN)
    text = said(env, answer.response_key)
    assert "Over budget" in text and "projected spend today" in text
    assert "/day cap" in text


async def test_a_workspace_cap_alerts_every_watching_channel_once(env: SlackEnv) -> None:
    await env.command("watch neuranet", channel="C0OPS")
    runner = await watched(env)
    await seed_spend(env, Decimal(100))
    spent = await spent_today(env)
    # The workspace's spend is at least Nosana's: a cap below it is reached.
    await env.command(f"budget set {(spent / 2).quantize(Decimal('0.0001'))}/day", user=ADMIN)
    await cycle(runner)
    await cycle(runner)
    posts = budget_posts(env)
    assert sorted(p.body["channel"] for p in posts) == ["C0OPS", CHANNEL]
    assert all("Workspace total spend today (UTC) reached its" in p.body["text"] for p in posts)
    assert json.dumps(posts[0].body).count("Budget") >= 1


def fast_creates(env: SlackEnv) -> None:
    """Bounded background loops of the create flow (they finish within settle())."""
    assert env.bot.create is not None
    env.bot.create.poll_interval = 0.02
    env.bot.create.bid_timeout = 0.4
    env.bot.create.follow_timeout = 0.3


TOO_BIG = {
    "name": "too-big",
    "market": RTX4090,
    "replicas": "2",
    "timeout": "90",
    "strategy": "SIMPLE",
    "image": "ollama/ollama:0.5",
    "gpu": "yes",
    "autostart": "yes",
}


async def test_a_cap_refuses_a_create_with_the_numbers(env: SlackEnv) -> None:
    fast_creates(env)
    await env.command("budget set 0.5/h nosana", user=ADMIN)
    before = len(env.api("nosana").deployments)
    answer, _ = await review(env, "nosana", TOO_BIG)
    await confirm(env, answer)
    [note] = [c.body["text"] for c in env.calls("chat.postEphemeral")]
    shown = note.replace("&lt;", "<").replace("&gt;", ">")
    assert "Over budget: create Nosana deployment too-big (about $0.770/hour)" in shown
    assert "over its $0.50/h cap" in shown
    assert len(env.api("nosana").deployments) == before
    assert not [c for c in env.calls("chat.postMessage") if msg.APPROVE in buttons(c.body)]
    assert "--over-budget" in shown


async def test_an_admin_creates_over_budget_with_an_approval(env: SlackEnv) -> None:
    fast_creates(env)
    await env.command("budget set 0.5/h nosana", user=ADMIN)
    await env.command("policy create allow", user=ADMIN)  # it still waits: it is over budget
    before = len(env.api("nosana").deployments)
    view = await open_form(env, "create nosana --over-budget")
    meta = json.loads(view["private_metadata"])
    assert meta.get("o") == 1
    answer = await env.post(
        payloads.view_submission(
            secret=env.secret,
            callback_id=views.CREATE_FORM,
            values=_form(TOO_BIG),
            private_metadata=json.dumps(meta),
            team_id=TEAM,
            user_id=ADMIN,
            view_id="VOVER1",
        )
    )
    await env.settle()
    review_view = answer.body["view"]
    await submit_as(env, review_view, ADMIN)
    assert len(env.api("nosana").deployments) == before
    [post] = [
        c
        for c in env.calls("chat.postMessage")
        if msg.CANCEL in buttons(c.body) and not c.body.get("thread_ts")
    ]
    text = message_text(post.body)
    assert "--over-budget: Over budget: create Nosana deployment too-big" in text
    assert "over its $0.50/h cap" in text
    await env.click(msg.APPROVE, buttons(post.body)[msg.APPROVE], user=ADMIN2)
    assert len(env.api("nosana").deployments) == before + 1


async def submit_as(env: SlackEnv, view: dict[str, Any], user: str) -> None:
    assert view["callback_id"] == views.CREATE_REVIEW
    await env.post(
        payloads.view_submission(
            secret=env.secret,
            callback_id=views.CREATE_REVIEW,
            values={},
            private_metadata=view["private_metadata"],
            team_id=TEAM,
            user_id=user,
            view_id="VOVER2",
        )
    )
    await env.settle()


async def test_a_cap_refuses_accepting_a_bid_with_the_numbers(env: SlackEnv) -> None:
    fast_creates(env)
    env.api("akash").bid_delay = 0
    env.api("akash").lease_ready_delay = 0
    await env.command("policy spend allow", user=ADMIN)
    answer, _ = await review(env, "akash", QUICK)
    await confirm(env, answer)
    dep = await created_dseq(env)
    accept = {
        k: v for k, v in buttons(last_status(env)).items() if k.startswith(views.ACCEPT_ACTION)
    }
    assert accept
    # The cap comes after the create: the lease is what would start the burn.
    await env.command("budget set 0.0001/h akash", user=ADMIN)
    action, value = next(iter(accept.items()))
    clicked = await env.click(action, value, user=ADMIN)
    [note] = [b["text"] for b in env.responses(clicked.response_key) if b.get("text")]
    assert f"Over budget: lease Akash deployment {dep.dseq}" in note, note
    assert re.search(r"\(now \$0\.00/h, \+\$\d+\.\d\d/h\), over its \$0\.0001/h cap", note), note
    assert "--over-budget" in note
    assert len(dep.leases) == 0
