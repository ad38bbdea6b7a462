"""Hands-free Akash bids over HTTP: the create form's "Accept automatically" leases the
cheapest eligible bid once its seconds of bidding have passed — once, with no second approval
— and says what it beat; an allow-list or a minimum uptime narrows it; nothing eligible (or not
yet time) leaves the Accept buttons."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from bot.core import create_views as views
from bot.core import fmt
from bot.db.audit import AuditLog
from bot.services.deployments import Actor
from tests.e2e.harness import CHANNEL, MEMBER, TEAM, SlackEnv, buttons, message_text
from tests.e2e.test_create import QUICK, confirm, created_dseq, last_status, requests_in, review

pytestmark = pytest.mark.asyncio

ACTOR = Actor(team_id=TEAM, user_id=MEMBER, channel_id=CHANNEL)


@pytest.fixture(autouse=True)
def _fast(env: SlackEnv) -> None:
    assert env.bot.create is not None
    env.bot.create.poll_interval = 0.02
    env.bot.create.bid_timeout = 0.6
    env.bot.create.follow_timeout = 0.3
    akash = env.api("akash")
    akash.bid_delay = 0
    akash.lease_ready_delay = 0


async def create_with(env: SlackEnv, **auto: str) -> Any:
    answer, _ = await review(env, "akash", {**QUICK, "auto_accept": "yes", **auto})
    assert answer.body.get("response_action") == "update", answer.body
    assert "Accept automatically" in message_text(answer.body["view"])
    await confirm(env, answer)
    return await created_dseq(env)


async def bids_by_price(env: SlackEnv, dseq: str) -> list[Any]:
    client = await env.bot.service.client(ACTOR, "akash")
    return sorted(await client.bids(dseq), key=lambda b: b.price_per_hour_usd)


async def test_auto_accept_leases_the_cheapest_eligible_bid_once(env: SlackEnv) -> None:
    dep = await create_with(env, auto_after="0")
    cheapest, other = (await bids_by_price(env, dep.dseq))[:2]
    assert len(dep.leases) == 1
    assert dep.leases[0].provider.owner == cheapest.provider_address
    assert await requests_in(env, "leased") == 1
    text = message_text(last_status(env))
    assert "Accepted automatically" in text
    assert fmt.per_hour(cheapest.price_per_hour_usd) in text
    assert f"{fmt.per_hour(other.price_per_hour_usd)} (more expensive)" in text
    # no second approval: the create's decision covered it; the audit log says so
    rows = await AuditLog(env.storage.engine).recent(team_id=TEAM, limit=20)
    auto = [r for r in rows if r.action == "accept"]
    assert [(r.decision, r.result) for r in auto] == [("auto", "ok")]
    # a restarted bid wait (another replica) leases nothing more
    assert env.bot.create is not None
    [row] = await env.bot.create.store.in_states(["leased"])
    await env.bot.create.wait_for_bids(row.id)
    assert len(dep.leases) == 1


async def test_an_allow_list_picks_the_listed_provider(env: SlackEnv) -> None:
    dep = await create_with(env, auto_after="0", auto_providers="rtxcloud")
    [lease] = dep.leases
    assert lease.provider.name == "rtxcloud"
    assert "(not on the list)" in message_text(last_status(env))


async def test_nothing_eligible_leaves_the_accept_buttons(env: SlackEnv) -> None:
    dep = await create_with(env, auto_after="0", auto_min_uptime="99.99")
    assert len(dep.leases) == 0
    status = last_status(env)
    assert any(k.startswith(views.ACCEPT_ACTION) for k in buttons(status))
    assert "Accepting automatically" in message_text(status)
    assert await requests_in(env, "bidding") == 1


async def test_the_accept_waits_its_seconds_of_bidding_even_past_the_bid_timeout(
    env: SlackEnv,
) -> None:
    started = time.monotonic()
    dep = await create_with(env, auto_after="2")  # the bid timeout here is 0.6 s
    assert time.monotonic() - started >= 2.0  # not before its seconds of bidding
    assert len(dep.leases) == 1
    assert await requests_in(env, "leased") == 1


async def test_the_form_refuses_bad_auto_accept_values(env: SlackEnv) -> None:
    answer, _ = await review(
        env,
        "akash",
        {**QUICK, "auto_accept": "yes", "auto_after": "soon", "auto_min_uptime": "140"},
    )
    assert answer.body["response_action"] == "errors"
    assert {"auto_after", "auto_min_uptime"} <= set(answer.body["errors"])


async def test_an_accept_that_falls_due_between_two_looks_still_happens(env: SlackEnv) -> None:
    """Its seconds of bidding can end between the accept's look at the clock and the wait's
    own: the wait must not give up without letting the accept look again."""
    create = env.bot.create
    assert create is not None
    real_clock = create.clock
    shift = timedelta(0)
    create.clock = lambda: real_clock() + shift  # type: ignore[method-assign]
    original = create._auto_accept
    looks = 0

    async def just_before_its_time(request_id: str) -> bool:
        nonlocal looks, shift
        looks += 1
        if looks == 1:
            assert not await original(request_id)  # not yet: it notes when bidding began
            shift = timedelta(seconds=30)  # ... and its seconds end before the wait's check
            return False
        return await original(request_id)

    create._auto_accept = just_before_its_time  # type: ignore[method-assign]
    dep = await create_with(env, auto_after="5")
    assert looks >= 2
    assert len(dep.leases) == 1
    assert await requests_in(env, "leased") == 1
