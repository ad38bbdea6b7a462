"""Creating and leasing spend money: with deploybot's default policy both wait for an admin's
approval, and each runs exactly once after it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.core import approvals as msg
from bot.core import create_views as views
from bot.core import fmt
from bot.core.create_summary import short_id
from bot.slack_local.payloads import input_values
from tests.e2e.harness import ADMIN, SlackEnv, buttons, message_text, slack_env
from tests.e2e.test_create import (
    ACTOR,
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
    assert "create Nosana deployment llama-approved (about $0.385/h)" in message_text(request)
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


async def test_accepting_a_bid_of_a_closed_deployment_is_refused_before_anyone_is_asked(
    env: SlackEnv,
) -> None:
    await env.command("policy create allow on akash", user=ADMIN)  # only the lease waits
    answer, _ = await review(env, "akash", QUICK)
    await confirm(env, answer)
    dep = await created_dseq(env)
    status = last_status(env)
    accept = {k: v for k, v in buttons(status).items() if k.startswith(views.ACCEPT_ACTION)}
    action, value = next(iter(accept.items()))
    env.api("akash").force_close(dep.dseq)  # closed meanwhile (from the Console, say)
    clicked = await env.click(action, value)
    assert approval_requests(env) == []
    [note] = [b for b in env.responses(clicked.response_key) if b.get("text")]
    assert "there are no bids to accept" in note["text"] or "is closed" in note["text"], note
    assert len(dep.leases) == 0


# -- what approvers see -----------------------------------------------------------------------


def everything_posted(env: SlackEnv) -> str:
    """Every message deploybot sent to Slack (requests, DMs, notes), for leak checks."""
    methods = ("chat.postMessage", "chat.update", "chat.postEphemeral")
    return "\n".join(message_text(c.body) for m in methods for c in env.calls(m))


async def test_a_nosana_create_request_shows_the_whole_spec(env: SlackEnv) -> None:
    form = {
        **NOSANA_FORM,
        "name": "whisper-api",
        "replicas": "2",
        "strategy": "SCHEDULED",
        "schedule": "0 */6 * * *",
        "image": "onerahmet/openai-whisper-asr-webservice:latest",
        "env": "HF_TOKEN=hf_very_secret_1\nASR_MODEL=base",
    }
    answer, _ = await review(env, "nosana", form)
    await confirm(env, answer)
    [request] = approval_requests(env)
    text = message_text(request)
    assert "create Nosana deployment whisper-api (about $0.77/h)" in text
    assert "• *Provider:* Nosana" in text
    assert f"• *Market:* NVIDIA RTX 4090 (`{RTX4090[:10]}…{RTX4090[-4:]}`)" in text
    assert "• *GPU:* NVIDIA GeForce RTX 4090, 24 GB" in text
    assert "• *Image:* `onerahmet/openai-whisper-asr-webservice:latest`" in text
    assert "• *Replicas:* 2" in text
    assert "• *Timeout:* 1 h 30 min" in text
    assert "• *Strategy:* `SCHEDULED`" in text
    assert "• *Cron:* `0 */6 * * *`, next run " in text and " UTC" in text
    assert "• *Env names:* `HF_TOKEN`, `ASR_MODEL`" in text
    assert "• *Estimate:* about $0.77/h" in text
    assert "• *Per timeout (1 h 30 min):* $1.16" in text
    # the approvers' DM shows the same, and no env value reaches Slack anywhere
    dms = [c.body for c in env.calls("chat.postMessage") if c.body["channel"] == ADMIN]
    assert dms and "• *Env names:* `HF_TOKEN`, `ASR_MODEL`" in message_text(dms[-1])
    leaked = everything_posted(env)
    assert "hf_very_secret_1" not in leaked and "=base" not in leaked


async def test_a_neuranet_create_request_shows_node_template_and_env_names(env: SlackEnv) -> None:
    assert env.bot.create is not None
    client = await env.bot.create.client(ACTOR, "neuranet")
    node = next(n for n in await client.nodes() if n.status == "online" and n.gpu)
    form = {"name": "nn-approved", "node": node.id, "template_id": "ollama", "env": "TOKEN=t0p"}
    answer, _ = await review(env, "neuranet", form)
    await confirm(env, answer)
    [request] = approval_requests(env)
    text = message_text(request)
    rate = fmt.per_hour(node.price_per_hour_usd)
    assert f"create NeuraNET deployment nn-approved (about {rate})" in text
    assert f"• *Node:* {node.name} (`{short_id(node.id)}`)" in text
    assert f"• *GPU:* {node.gpu}" in text
    assert "• *Template:* `ollama`" in text
    assert "• *Timeout:* none: runs until stopped" in text
    assert "• *Env names:* `TOKEN`" in text and "t0p" not in everything_posted(env)
    assert "• *Per day (runs until stopped):* $" in text


async def test_an_akash_create_request_shows_image_resources_and_deposit(env: SlackEnv) -> None:
    answer, _ = await review(env, "akash", {**QUICK, "env": "HF_TOKEN=hf_akash_secret"})
    await confirm(env, answer)
    [request] = approval_requests(env)
    text = message_text(request)
    assert "create Akash deployment vllm/vllm-openai:v0.6.3 (at most $" in text
    assert "• *GPU asked for:* rtx4090" in text
    resources = "1 × (4 CPU, 16 GiB, 50 GiB storage, 1 GPU (rtx4090))"
    assert f"image `vllm/vllm-openai:v0.6.3`, {resources}" in text
    assert "• *Env names:* `HF_TOKEN`" in text
    assert "• *Deposit:* $5.00 (lasts at least " in text
    assert "/h (the SDL's max price)" in text
    assert "hf_akash_secret" not in everything_posted(env)


async def test_names_in_a_create_request_are_escaped_once(env: SlackEnv) -> None:
    answer, _ = await review(env, "nosana", {**NOSANA_FORM, "name": "<!channel> & co"})
    await confirm(env, answer)
    [request] = approval_requests(env)
    text = message_text(request)
    assert "create Nosana deployment &lt;!channel&gt; &amp; co (about" in text
    assert "<!channel>" not in text and "&amp;lt;" not in text
