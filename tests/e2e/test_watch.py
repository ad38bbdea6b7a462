"""Watching deployments end to end: signed commands → watcher (poll, diff, outbox) → sender →
the fake Slack API; status changes made in the sandboxes with their manual clock.

The watcher's loops are driven one step at a time (``cycle``) so every test is bounded and
deterministic; ``test_the_loops_run_and_stop`` runs the real background loops briefly.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot import metrics
from bot.app import DeployBot, build_bot, web_client
from bot.core import modals
from bot.runtime import open_storage
from bot.slack_local.fake_api import SlackCall
from bot.slack_local.payloads import input_values
from bot.watch.runner import WatchRunner
from tests.e2e.harness import ADMIN, BOT_TOKEN, CHANNEL, MEMBER, SlackEnv, buttons

NEURANET_RUNNING = "dep_rv6sk1wj69"  # llama-chat
NEURANET_FAILED = "dep_68r5j2tazo"  # trainer-v2
AKASH_LOW_RUNWAY = "1793527200000"  # 40 minutes of escrow left
AKASH_RUNNING = "1793523600000"


def runner_of(bot: DeployBot) -> WatchRunner:
    return bot.build_watcher(pace=0.0)


async def cycle(*runners: WatchRunner) -> None:
    """One poll (every key, due or not) then one delivery, on each runner (concurrently)."""
    await asyncio.gather(*(r.poller.poll_once(force=True) for r in runners))
    await asyncio.gather(*(r.sender.send_once() for r in runners))


def posts(env: SlackEnv) -> list[SlackCall]:
    """The watcher's top-level posts (its messages carry deploybot_notification metadata)."""
    return [
        c
        for c in env.calls("chat.postMessage")
        if not c.body.get("thread_ts")
        and (c.body.get("metadata") or {}).get("event_type") == "deploybot_notification"
    ]


def replies_to(env: SlackEnv, ts: str | None = None) -> list[SlackCall]:
    return [
        c
        for c in env.calls("chat.postMessage")
        if c.body.get("thread_ts") and (ts is None or c.body["thread_ts"] == ts)
    ]


def card_post(env: SlackEnv, deployment_id: str) -> SlackCall:
    found = [c for c in posts(env) if deployment_id in json.dumps(c.body.get("blocks"))]
    assert len(found) == 1, f"{len(found)} card posts for {deployment_id}"
    return found[0]


def thread(env: SlackEnv, deployment_id: str) -> list[str]:
    ts = card_post(env, deployment_id).response["ts"]
    return [c.body["text"] for c in replies_to(env, ts)]


@asynccontextmanager
async def second_instance(env: SlackEnv) -> AsyncIterator[DeployBot]:
    """Another app (another process, as far as state goes) on the same database."""
    storage = await open_storage(env.settings)
    bot = build_bot(
        env.settings,
        storage,
        token=BOT_TOKEN,
        signing_secret=env.secret,
        client=web_client(env.settings, BOT_TOKEN),
    )
    try:
        yield bot
    finally:
        await bot.aclose()
        await storage.aclose()


async def test_a_status_change_is_one_update_and_one_thread_reply(env: SlackEnv) -> None:
    answer = await env.command(f"watch {NEURANET_RUNNING}")
    shown = env.last_response(answer.response_key)
    assert "llama-chat" in shown["text"] and f"<#{CHANNEL}>" in shown["text"]
    runner = runner_of(env.bot)

    await cycle(runner)  # the first poll posts the card of a deployment watched by itself
    card = card_post(env, NEURANET_RUNNING)
    assert card.body["channel"] == CHANNEL
    assert replies_to(env) == [] and env.calls("chat.update") == []

    env.api("neuranet").force_status(NEURANET_RUNNING, "stopped")
    await cycle(runner)
    [update] = env.calls("chat.update")
    assert update.body["ts"] == card.response["ts"]
    assert "stopped" in json.dumps(update.body["blocks"])
    [reply] = replies_to(env)
    assert reply.body["thread_ts"] == card.response["ts"]
    assert "running → stopped, changed outside deploybot" in reply.body["text"]
    assert "Stopped unexpectedly" in reply.body["text"]
    assert len(posts(env)) == 1

    await cycle(runner)  # nothing new: nothing posted
    assert len(env.calls("chat.update")) == 1 and len(replies_to(env)) == 1


async def test_changes_made_through_deploybot_credit_the_person(env: SlackEnv) -> None:
    await env.command("watch neuranet")
    runner = runner_of(env.bot)
    await cycle(runner)
    await env.command(f"stop {NEURANET_RUNNING}", user=MEMBER)
    env.clock.advance(120)  # stopping → stopped
    await cycle(runner)
    texts = thread(env, NEURANET_RUNNING)
    assert texts and all(f"by <@{MEMBER}> via /deploy stop" in t for t in texts)
    assert not any("unexpectedly" in t for t in texts)


async def test_a_restart_in_between_posts_nothing_twice(env: SlackEnv) -> None:
    await env.command("watch neuranet")
    first = runner_of(env.bot)
    await cycle(first)
    env.api("neuranet").fail(NEURANET_RUNNING, "OOMKilled")
    await first.poller.poll_once(force=True)  # recorded, not yet sent: then the app restarts
    async with second_instance(env) as restarted:
        again = runner_of(restarted)
        await cycle(again)
        await cycle(again)
    async with second_instance(env) as restarted:
        await cycle(runner_of(restarted))  # and once more after it was sent
    texts = thread(env, NEURANET_RUNNING)
    assert len(texts) == 1 and "running → failed" in texts[0] and "Failed" in texts[0]
    assert len(env.calls("chat.update")) == 0  # the card was posted with the change


async def test_two_instances_on_one_database_post_each_change_once(env: SlackEnv) -> None:
    await env.command("watch all")
    async with second_instance(env) as other:
        a, b = runner_of(env.bot), runner_of(other)
        await cycle(a, b)
        api = env.api("neuranet")
        api.force_status(NEURANET_RUNNING, "stopped")
        api.force_status(NEURANET_FAILED, "running")
        for _ in range(3):
            await cycle(a, b)
    stopped = thread(env, NEURANET_RUNNING)
    assert len(stopped) == 1 and "running → stopped" in stopped[0]
    recovered = thread(env, NEURANET_FAILED)
    assert len(recovered) == 1 and "failed → running" in recovered[0]
    assert "Recovered: running again" in recovered[0]


async def test_a_429_delays_then_delivers(env: SlackEnv) -> None:
    await env.command(f"watch {NEURANET_RUNNING}")
    runner = runner_of(env.bot)
    retried = metrics.NOTIFICATIONS_RETRIED.labels("rate_limited")._value.get()
    env.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    await cycle(runner)
    assert posts(env) == []
    assert len(env.slack.calls_to("chat.postMessage", include_failed=True)) == 1
    assert metrics.NOTIFICATIONS_RETRIED.labels("rate_limited")._value.get() == retried + 1
    assert await runner.sender.send_once() == 0  # Retry-After has not passed yet
    await asyncio.sleep(1.1)
    assert await runner.sender.send_once() == 1
    card_post(env, NEURANET_RUNNING)


async def test_akash_runway_alert_fires_once_and_recovers_after_add_funds(env: SlackEnv) -> None:
    await env.command("watch akash")
    runner = runner_of(env.bot)
    await cycle(runner)
    [alert] = thread(env, AKASH_LOW_RUNWAY)
    assert "Escrow runs low" in alert and "threshold 24 h" in alert
    reply = next(c for c in replies_to(env) if c.body["text"] == alert)
    value = buttons(reply.body)["deployment_deposit"]
    await cycle(runner)
    assert thread(env, AKASH_LOW_RUNWAY) == [alert]  # once per cycle

    # The alert's button is the card's "Add funds": the deposit modal, then the operation.
    await env.click("deployment_deposit", value)
    [opened] = env.calls("views.open")
    meta = opened.body["view"]["private_metadata"]
    done = await env.submit(
        modals.DEPOSIT,
        input_values({(modals.AMOUNT_BLOCK, modals.AMOUNT_ACTION): "20"}),
        private_metadata=meta,
    )
    assert done.body == {"response_action": "clear"}
    await cycle(runner)
    texts = thread(env, AKASH_LOW_RUNWAY)
    assert len(texts) == 2 and "Recovered: the escrow lasts" in texts[1]
    await cycle(runner)
    assert len(thread(env, AKASH_LOW_RUNWAY)) == 2


async def test_akash_out_of_funds_and_closed_outside(env: SlackEnv) -> None:
    await env.command("watch all")
    runner = runner_of(env.bot)
    await env.command("watch settings runway 0.01h", user=ADMIN)
    await cycle(runner)
    akash = env.api("akash")
    akash.drain(AKASH_RUNNING, 0)
    akash.force_close(AKASH_LOW_RUNWAY)
    env.clock.advance(60)
    await cycle(runner)
    await cycle(runner)
    [out] = thread(env, AKASH_RUNNING)
    assert "Out of funds" in out and "insufficient" in out
    [closed] = thread(env, AKASH_LOW_RUNWAY)
    assert "→ closed" in closed and "Closed outside deploybot" in closed
    # Final and unlisted: not looked up again.
    lookups = akash.count("GET", rf"/v1/deployments/({AKASH_RUNNING}|{AKASH_LOW_RUNWAY})")
    await cycle(runner)
    assert akash.count("GET", rf"/v1/deployments/({AKASH_RUNNING}|{AKASH_LOW_RUNWAY})") == lookups


async def test_nosana_error_with_event_and_credits_alerts(env: SlackEnv) -> None:
    nosana = env.api("nosana")
    running = next(d.id for d in nosana.deployments.values() if d.status == "RUNNING")
    await env.command("watch nosana")
    runner = runner_of(env.bot)
    await cycle(runner)
    nosana.force_status(running, "ERROR")
    await cycle(runner)
    [failed] = thread(env, running)
    assert "→ failed" in failed and ":red_circle: Failed" in failed
    nosana.force_status(running, "RUNNING")
    await cycle(runner)
    texts = thread(env, running)
    assert len(texts) == 2 and "Recovered: running again" in texts[1]

    await env.command("watch settings credits 100000", user=ADMIN)
    await cycle(runner)
    account = [c for c in posts(env) if "Credits run low" in c.body["text"]]
    assert len(account) == 1 and "Nosana credits are $" in account[0].body["text"]
    await cycle(runner)
    await env.command("watch settings credits 1", user=ADMIN)
    await cycle(runner)
    await cycle(runner)
    notices = [c.body["text"] for c in posts(env) if "credits" in c.body["text"].lower()]
    assert len(notices) == 2 and "Recovered" in notices[1]


async def test_new_deployments_of_a_watched_provider_are_announced(env: SlackEnv) -> None:
    await env.command("watch neuranet")
    runner = runner_of(env.bot)
    await cycle(runner)
    assert posts(env) == []  # the baseline says nothing
    api = env.api("neuranet")
    node = next(n for n in api.nodes.values() if n.status == "online" and n.gpus)
    created = api.create_deployment(
        api.demo_api_key, node.id, custom_image="nginx:1", name="fresh-one"
    )
    await cycle(runner)
    [text] = thread(env, created.id)
    assert "new deployment" in text


async def test_watch_commands(env: SlackEnv) -> None:
    listed = await env.command("watching")
    assert "Nothing is watched" in json.dumps(env.last_response(listed.response_key))
    await env.command("watch all <#C222|ops>")
    await env.command("watch akash")
    again = await env.command("watch akash")
    assert "already watches" in env.last_response(again.response_key)["text"]
    listed = await env.command("watching")
    shown = json.dumps(env.last_response(listed.response_key))
    assert "<#C222>: every deployment" in shown and f"<#{CHANNEL}>: every Akash" in shown
    assert "below 24 h" in shown
    await env.command("watch settings runway 2d credits 0", user=ADMIN)
    listed = await env.command("watching")
    shown = json.dumps(env.last_response(listed.response_key))
    assert "below 48 h" in shown and "(off)" in shown
    gone = await env.command("unwatch akash")
    assert "stopped" in env.last_response(gone.response_key)["text"]
    nothing = await env.command("unwatch akash")
    assert "wasn't watching" in env.last_response(nothing.response_key)["text"]
    usage = await env.command("watch #ops")
    assert "# suggestions" in usage.body["text"]


async def test_app_home_shows_providers_running_cost_and_recent_actions(env: SlackEnv) -> None:
    async def approvals(actor: Any) -> list[dict[str, Any]]:
        return [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"APPROVALS {actor.user_id}"}}
        ]

    async def broken(actor: Any) -> list[dict[str, Any]]:
        raise RuntimeError("boom")

    env.bot.home_sections.extend([broken, approvals])
    await env.command(f"stop {NEURANET_RUNNING}")
    await env.event({"type": "app_home_opened", "user": MEMBER, "tab": "home"})
    (call,) = await env.slack.wait_for("views.publish")
    text = json.dumps(call.body["view"])
    assert "Connected providers" in text and "Running deployments" in text
    assert "in total" in text and "/h" in text
    assert "My recent actions" in text and f"stop {NEURANET_RUNNING}" in text
    assert "home_create_deployment" in text
    assert f"APPROVALS {MEMBER}" in text
    assert all(key not in text for key in env.keys.values())


async def test_metrics_and_the_loops_run_and_stop(env: SlackEnv) -> None:
    await env.command(f"watch {NEURANET_RUNNING}")
    runner = env.bot.start_watcher(interval=0.2, pace=0.0, poll_tick=0.05, send_tick=0.05)
    try:
        await env.slack.wait_for("chat.postMessage", 1, timeout=10)
    finally:
        await runner.stop(grace=5)
    assert not runner.running
    response = await env.http.get("/metrics")
    assert response.status == 200
    body = await response.text()
    for name in (
        "deploybot_commands_total",
        "deploybot_operations_total",
        "deploybot_provider_call_seconds",
        "deploybot_notifications_sent_total",
        "deploybot_poll_cycle_seconds",
        "deploybot_outbox_depth 0.0",
    ):
        assert name in body, name


async def test_a_change_deploybot_makes_is_polled_at_once_not_at_the_next_tick(
    env: SlackEnv,
) -> None:
    """After deploybot stops a watched deployment, the watcher in the same process looks at
    its key at once: the channel hears "stopping" (which may last only seconds) even when the
    loop's next look for due keys is far off."""
    await env.command(f"watch {NEURANET_RUNNING}")
    runner = env.bot.start_watcher(interval=60, pace=0.0, poll_tick=30, send_tick=0.05)
    try:
        await env.slack.wait_for("chat.postMessage", 1, timeout=10)  # the card, at once
        card = card_post(env, NEURANET_RUNNING)
        await env.command(f"stop {NEURANET_RUNNING}")
        for _ in range(100):  # 5 s, against the 30 s tick
            if replies_to(env, card.response["ts"]):
                break
            await asyncio.sleep(0.05)
    finally:
        await runner.stop(grace=5)
    assert any("→ stopping" in text for text in thread(env, NEURANET_RUNNING)), thread(
        env, NEURANET_RUNNING
    )


async def test_a_replica_that_dies_mid_cycle_loses_nothing(env: SlackEnv) -> None:
    from bot.db.watch.store import WatchStore
    from bot.watch.poller import Poller

    await env.command("watch neuranet")
    now = [1_000_000.0]
    store = WatchStore(env.storage.engine, clock=lambda: now[0])
    dead = Poller(store, env.bot.pool, owner="replica-a", lease_seconds=60, clock=lambda: now[0])
    alive = Poller(store, env.bot.pool, owner="replica-b", lease_seconds=60, clock=lambda: now[0])
    await alive.poll_once(force=True)  # the baseline
    env.api("neuranet").force_status(NEURANET_RUNNING, "stopped")

    [key] = await store.claim_due_keys("replica-a", limit=10, lease_seconds=60, force=True)
    # replica-a dies holding the lease: replica-b can't poll that key until the lease expires.
    assert (await alive.poll_once(force=True)).keys == []
    now[0] += 61
    taken = await alive.poll_once(force=True)
    assert [k.notifications for k in taken.keys] == [1]
    # replica-a wakes up and finishes its poll: its results are refused, nothing is doubled.
    late = await dead.poll_key(key)
    assert late.error == "lost lease"
    runner = runner_of(env.bot)
    await runner.sender.send_once()
    texts = thread(env, NEURANET_RUNNING)
    assert len(texts) == 1 and "running → stopped" in texts[0]


async def test_a_burst_is_one_update_with_a_reply_per_change(env: SlackEnv) -> None:
    await env.command(f"watch {NEURANET_RUNNING}")
    runner = runner_of(env.bot)
    await cycle(runner)
    api = env.api("neuranet")
    api.force_status(NEURANET_RUNNING, "stopped")
    await runner.poller.poll_once(force=True)
    api.force_status(NEURANET_RUNNING, "running")
    await runner.poller.poll_once(force=True)
    await runner.sender.send_once()
    [update] = env.calls("chat.update")
    assert "running" in json.dumps(update.body["blocks"])
    texts = thread(env, NEURANET_RUNNING)
    assert len(texts) == 2
    assert "running → stopped" in texts[0] and "stopped → running" in texts[1]
    assert "Recovered" in texts[1]


async def test_at_most_one_new_post_per_second_per_channel(env: SlackEnv) -> None:
    await env.command("watch neuranet")
    runner = runner_of(env.bot)
    await runner.poller.poll_once(force=True)
    api = env.api("neuranet")
    api.force_status(NEURANET_RUNNING, "stopped")
    api.force_status(NEURANET_FAILED, "running")
    await runner.poller.poll_once(force=True)
    offset = [0.0]
    waits: list[float] = []
    start = time.time()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        offset[0] += seconds

    sender = runner.sender
    # No burst allowance: strictly one a second (the burst is tested in test_watch_sharing).
    sender.pace, sender.burst, sender.sleep = 1.0, 1, sleep
    sender.clock = lambda: start + offset[0]
    assert await sender.send_once() == 2
    stamps = [start + sum(waits[:i]) for i in range(len(waits) + 1)]
    assert len(env.calls("chat.postMessage")) == 4  # two cards, two replies
    assert sum(waits) >= 3 - 1e-6 and all(w <= 1.0 + 1e-6 for w in waits)
    assert stamps == sorted(stamps)


async def test_a_channel_that_is_gone_drops_its_notifications(env: SlackEnv) -> None:
    await env.command(f"watch {NEURANET_RUNNING}")
    runner = runner_of(env.bot)
    dropped = metrics.NOTIFICATIONS_DROPPED.labels("channel_not_found")._value.get()
    env.slack.fail_next("chat.postMessage", status=200, retry_after=None, error="channel_not_found")
    await cycle(runner)
    assert posts(env) == []
    assert metrics.NOTIFICATIONS_DROPPED.labels("channel_not_found")._value.get() == dropped + 1
    assert await runner.sender.send_once() == 0
    assert await env.bot.watches.store.outbox_depth() == 0  # type: ignore[union-attr]


async def test_commands_are_counted_by_result(env: SlackEnv) -> None:
    ok = metrics.COMMANDS.labels("watching", "ok")._value.get()
    bad = metrics.COMMANDS.labels("show", "error")._value.get()
    usage = metrics.COMMANDS.labels("usage", "usage")._value.get()
    await env.command("watching")
    await env.command("show no-such-thing")
    await env.command("scale")
    assert metrics.COMMANDS.labels("watching", "ok")._value.get() == ok + 1
    assert metrics.COMMANDS.labels("show", "error")._value.get() == bad + 1
    assert metrics.COMMANDS.labels("usage", "usage")._value.get() == usage + 1


async def test_prune_keeps_what_is_pending(env: SlackEnv) -> None:
    await env.command(f"watch {NEURANET_RUNNING}")
    runner = runner_of(env.bot)
    await cycle(runner)
    env.api("neuranet").force_status(NEURANET_RUNNING, "stopped")
    await runner.poller.poll_once(force=True)  # one pending row
    store = runner.poller.store
    removed = await store.prune(sent_before=time.time() + 1, attributed_before=0)
    assert removed == 1  # the delivered card row
    assert await store.outbox_depth() == 1


async def test_nosana_out_of_credits_carries_the_latest_event(env: SlackEnv) -> None:
    nosana = env.api("nosana")
    stopped = next(d for d in nosana.deployments.values() if d.name == "sd-render-batch")
    await env.command("watch nosana")
    runner = runner_of(env.bot)
    await cycle(runner)
    await env.command(f"start {stopped.id}")  # preflight sees credits: it is started
    nosana.set_credits(nosana.demo_api_key, 0)  # … and they are gone before it runs
    for _ in range(10):
        env.clock.advance(30)
        if nosana.deployment(stopped.id).status == "INSUFFICIENT_FUNDS":
            break
    assert nosana.deployment(stopped.id).status == "INSUFFICIENT_FUNDS"
    await cycle(runner)
    texts = thread(env, stopped.id)
    final = texts[-1]
    assert "→ insufficient funds, by <@U111> via /deploy start" in final
    assert "Out of funds" in final and "Latest event: “" in final
    assert "Add funds" not in json.dumps(replies_to(env)[-1].body.get("blocks"))  # no deposits


async def test_slack_server_errors_back_off_then_give_up(env: SlackEnv) -> None:
    await env.command(f"watch {NEURANET_RUNNING}")
    runner = runner_of(env.bot)
    sender = runner.sender
    sender.max_attempts = 2
    now = [time.time()]
    sender.clock = lambda: now[0]
    runner.poller.store.clock = lambda: now[0]
    env.slack.fail_next("chat.postMessage", status=500, retry_after=None, times=5)
    await cycle(runner)
    assert await sender.send_once() == 0  # backing off: not due yet
    assert len(env.slack.calls_to("chat.postMessage", include_failed=True)) == 1
    now[0] += 3  # after the backoff: tried again, and given up (max_attempts)
    assert await sender.send_once() == 0
    assert len(env.slack.calls_to("chat.postMessage", include_failed=True)) == 2
    now[0] += 300
    assert await sender.send_once() == 0
    assert len(env.slack.calls_to("chat.postMessage", include_failed=True)) == 2
    assert await runner.poller.store.outbox_depth() == 0


async def test_an_uninstall_forgets_the_workspace_watches(env: SlackEnv) -> None:
    await env.command("watch all")
    runner = runner_of(env.bot)
    await cycle(runner)
    store = runner.poller.store
    assert await store.list_watches(team_id="T111", enterprise_id=None)
    await env.event({"type": "app_uninstalled"})
    assert await store.list_watches(team_id="T111", enterprise_id=None) == []
    assert (await runner.poller.poll_once(force=True)).keys == []


async def test_unwatch_drops_what_was_not_posted_yet(env: SlackEnv) -> None:
    await env.command("watch neuranet")
    await env.command("watch akash")
    runner = runner_of(env.bot)
    await cycle(runner)
    env.api("neuranet").force_status(NEURANET_RUNNING, "stopped")
    await runner.poller.poll_once(force=True)
    store = runner.poller.store
    assert await store.outbox_depth() == 1
    await env.command("unwatch akash")
    assert await store.outbox_depth() == 1  # still covered by the neuranet watch
    await env.command("unwatch neuranet")
    assert await store.outbox_depth() == 0
    assert await runner.sender.send_once() == 0


# -- who is credited: only an operation whose expected effect the transition is -----------------


def _running_nosana(env: SlackEnv) -> Any:
    nosana = env.api("nosana")
    return next(d for d in nosana.deployments.values() if d.status == "RUNNING")


async def test_a_stop_from_the_dashboard_after_a_rename_reads_outside(env: SlackEnv) -> None:
    nosana = env.api("nosana")
    target = _running_nosana(env)
    await env.command("watch nosana")
    runner = runner_of(env.bot)
    await cycle(runner)
    await env.command(f"rename {target.id} w2", user=MEMBER)
    assert nosana.deployment(target.id).name == "w2"
    nosana.force_status(target.id, "STOPPED")  # the provider's own dashboard, not deploybot
    await cycle(runner)
    [text] = thread(env, target.id)
    assert "running → stopped, changed outside deploybot" in text
    assert "/deploy rename" not in text and "<@" not in text


async def test_a_rename_seen_first_then_a_dashboard_stop_reads_outside(env: SlackEnv) -> None:
    nosana = env.api("nosana")
    target = _running_nosana(env)
    await env.command("watch nosana")
    runner = runner_of(env.bot)
    await cycle(runner)
    await env.command(f"rename {target.id} w2", user=MEMBER)
    await cycle(runner)  # the new name is seen: no status changed, nothing to say
    assert not any(target.id in json.dumps(c.body.get("blocks")) for c in posts(env))
    nosana.force_status(target.id, "STOPPED")
    await cycle(runner)
    [text] = thread(env, target.id)
    assert "running → stopped, changed outside deploybot" in text


async def test_a_stop_after_a_rename_credits_the_stop(env: SlackEnv) -> None:
    target = _running_nosana(env)
    await env.command("watch nosana")
    runner = runner_of(env.bot)
    await cycle(runner)
    await env.command(f"rename {target.id} w2", user=MEMBER)
    await env.command(f"stop {target.id}", user=MEMBER)
    for _ in range(5):
        env.clock.advance(60)
        await cycle(runner)
    texts = thread(env, target.id)
    assert texts and all(f"by <@{MEMBER}> via /deploy stop" in t for t in texts)
    assert not any("/deploy rename" in t or "outside deploybot" in t for t in texts)


async def test_a_stop_credit_is_spent_once_the_dashboard_undid_it(env: SlackEnv) -> None:
    api = env.api("neuranet")
    await env.command("watch neuranet")
    runner = runner_of(env.bot)
    await cycle(runner)
    await env.command(f"stop {NEURANET_RUNNING}", user=MEMBER)
    env.clock.advance(120)
    await cycle(runner)
    credited = thread(env, NEURANET_RUNNING)
    assert credited and all(f"by <@{MEMBER}> via /deploy stop" in t for t in credited)
    api.force_status(NEURANET_RUNNING, "running")  # started again from the dashboard
    await cycle(runner)
    api.force_status(NEURANET_RUNNING, "stopped")  # and stopped there, minutes later
    await cycle(runner)
    later = thread(env, NEURANET_RUNNING)[len(credited) :]
    assert len(later) == 2
    assert "→ running, changed outside deploybot" in later[0]
    assert "running → stopped, changed outside deploybot" in later[1]
    assert "Stopped unexpectedly" in later[1]
