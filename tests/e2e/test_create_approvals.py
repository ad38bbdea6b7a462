"""Creating and leasing spend money: with deploybot's default policy both wait for an admin's
approval, and each runs exactly once after it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.core import approvals as msg
from bot.core import create_views as views
from bot.core.create_summary import short_id
from bot.slack_local.payloads import input_values
from tests.e2e.harness import ADMIN, SlackEnv, buttons, message_text, slack_env
from tests.e2e.test_create import (
    QUICK,
    RTX4090,
    confirm,
    created_dseq,
    deployments,
    last_status,
    requests_in,
    review,
)

NOSANA_FORM = {
    "name": "llama-approved",
    "market": RTX4090,
    "replicas": "1",
    "timeout": "90",
    "strategy": "SIMPLE",
    "image": "ollama/ollama:0.5",
    "gpu": "yes",
    "autostart": "yes",
}


@pytest.fixture
async def env(db_url: str, tmp_path: Any) -> AsyncIterator[SlackEnv]:
    async with slack_env(db_url, tmp_path, policy=None) as running:
        assert running.bot.create is not None
        running.bot.create.poll_interval = 0.02
        running.bot.create.bid_timeout = 0.4
        running.bot.create.follow_timeout = 0.3
        running.api("akash").bid_delay = 0
        running.api("akash").lease_ready_delay = 0
        yield running


def approval_requests(env: SlackEnv) -> list[dict[str, Any]]:
    return [
        c.body
        for c in env.calls("chat.postMessage")
        if msg.CANCEL in buttons(c.body) and not c.body.get("thread_ts")
    ]


async def test_a_create_waits_for_approval_then_creates_once(env: SlackEnv) -> None:
    before = len(await deployments(env, "nosana"))
    answer, _ = await review(env, "nosana", NOSANA_FORM)
    await confirm(env, answer)
    await confirm(env, answer)  # Slack retries the submission: still one request
    assert len(await deployments(env, "nosana")) == before
    [request] = approval_requests(env)
    assert "create Nosana deployment llama-approved (about $0.385/hour)" in message_text(request)
    notes = [c.body["text"] for c in env.calls("chat.postEphemeral")]
    assert any("needs approval by an admin" in n for n in notes)
    assert any("already submitted" in n for n in notes)

    await env.click(msg.APPROVE, buttons(request)[msg.APPROVE], user=ADMIN)
    created = await deployments(env, "nosana")
    assert len(created) == before + 1
    assert any(d.name == "llama-approved" for d in created)
    again = await env.click(msg.APPROVE, buttons(request)[msg.APPROVE], user=ADMIN)
    assert "already done" in env.last_response(again.response_key)["text"]
    assert len(await deployments(env, "nosana")) == before + 1
    assert await requests_in(env, "created", "creating") == 1


async def test_a_denied_create_creates_nothing(env: SlackEnv) -> None:
    before = len(await deployments(env, "nosana"))
    answer, _ = await review(env, "nosana", NOSANA_FORM)
    await confirm(env, answer)
    [request] = approval_requests(env)
    request_id = buttons(request)[msg.DENY]
    await env.click(msg.DENY, request_id, user=ADMIN)
    await env.submit(
        msg.DENY_VIEW,
        input_values({(msg.DENY_BLOCK, msg.DENY_ACTION): "too big"}),
        private_metadata=request_id,
        user=ADMIN,
    )
    assert "Denied by <@UADMIN>: “too big”" in message_text(env.calls("chat.update")[-1].body)
    assert len(await deployments(env, "nosana")) == before
    assert await requests_in(env, "approval") == 1  # the form is spent, nothing made


async def test_accepting_a_bid_waits_for_approval_and_leases_once(env: SlackEnv) -> None:
    await env.command("policy create allow on akash", user=ADMIN)  # only the lease waits
    answer, _ = await review(env, "akash", QUICK)
    await confirm(env, answer)
    dep = await created_dseq(env)
    status = last_status(env)
    accept = {k: v for k, v in buttons(status).items() if k.startswith(views.ACCEPT_ACTION)}
    action, value = next(iter(accept.items()))
    await env.click(action, value, settle=False)
    await env.click(action, value, settle=False)  # a double click: one approval request
    await env.settle()
    [request] = approval_requests(env)
    assert f"lease Akash deployment {dep.dseq}" in message_text(request)
    assert len(dep.leases) == 0

    await env.click(msg.APPROVE, buttons(request)[msg.APPROVE], user=ADMIN)
    assert len(dep.leases) == 1
    assert await requests_in(env, "leased") == 1
    # The bid's provider by the name shown on the bid, with its address shortened.
    address = json.loads(value)["b"].split("/")[0]
    text = message_text(request)
    name = env.api("akash").provider(address).name
    assert f"from {name} at $" in text and f"{name} (`{short_id(address)}`" in text
    assert address not in text
