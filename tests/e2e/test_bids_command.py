"""``/deploy bids <dseq>`` over HTTP: the current bids again with Accept buttons (which lease
once, as the status message's do); a deployment deploybot didn't create, or one already
leased, says so."""

from __future__ import annotations

import pytest

from bot.core import create_views as views
from tests.e2e.harness import SlackEnv, buttons, message_text
from tests.e2e.test_create import QUICK, confirm, created_dseq, requests_in, review

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _fast(env: SlackEnv) -> None:
    assert env.bot.create is not None
    env.bot.create.poll_interval = 0.02
    env.bot.create.bid_timeout = 0.4
    env.bot.create.follow_timeout = 0.3
    akash = env.api("akash")
    akash.bid_delay = 0
    akash.lease_ready_delay = 0


async def test_bids_command_shows_the_bids_with_accept_buttons_that_lease_once(
    env: SlackEnv,
) -> None:
    answer, _ = await review(env, "akash", QUICK)
    await confirm(env, answer)
    dep = await created_dseq(env)

    shown = await env.command(f"bids {dep.dseq}")
    reply = env.last_response(shown.response_key)
    text = message_text(reply)
    accept = {k: v for k, v in buttons(reply).items() if k.startswith(views.ACCEPT_ACTION)}
    assert len(accept) == 2 and "rtxcloud" in text and "europlots" in text
    assert reply.get("response_type") != "in_channel"  # only for the person who asked

    action, value = next(iter(accept.items()))
    await env.click(action, value, settle=False)
    await env.click(action, value, settle=False)  # a double click
    await env.settle()
    assert len(dep.leases) == 1
    assert await requests_in(env, "leased") == 1

    again = await env.command(f"bids {dep.dseq}")
    assert "already has its lease" in env.last_response(again.response_key)["text"]


async def test_bids_of_a_deployment_deploybot_did_not_create(env: SlackEnv) -> None:
    answer = await env.command("bids 424242")
    assert (
        "didn't create an Akash deployment `424242`"
        in env.last_response(answer.response_key)["text"]
    )


async def test_bids_needs_the_dseq(env: SlackEnv) -> None:
    answer = await env.command("bids")
    assert "bids" in answer.body.get("text", "") + str(answer.body.get("blocks", ""))
