"""The watcher across replicas and in time: replicas share a cycle's keys fairly (presence
rows), a change found mid-walk is written and announced before the walk ends, a baseline is
written in parts, and the sender shows every card before the thread replies, with Slack's
short bursts."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import text

from bot.db.watch import state_store
from bot.db.watch.lease_store import PRESENCE, Presence, presence_name
from bot.db.watch.store import WatchStore
from bot.watch import poller as poller_module
from bot.watch.poller import Poller
from bot.watch.runner import WatchRunner
from tests.e2e.harness import TEAM, SlackEnv

NEURANET_RUNNING = "dep_rv6sk1wj69"  # llama-chat
NEURANET_FAILED = "dep_68r5j2tazo"  # trainer-v2


def _pollers(env: SlackEnv, now: list[float], *owners: str) -> list[Poller]:
    store = WatchStore(env.storage.engine, clock=lambda: now[0])
    return [
        Poller(store, env.bot.pool, owner=o, interval=30, lease_seconds=60, clock=lambda: now[0])
        for o in owners
    ]


async def test_replicas_share_a_cycles_keys_instead_of_the_first_taking_all(
    env: SlackEnv,
) -> None:
    await env.command("watch all")  # three keys: Nosana, Akash, NeuraNET
    now = [1_000_000.0]
    a, b = _pollers(env, now, "replica-a", "replica-b")
    assert (await a.announce()) == Presence(replicas=1, keys=3)
    assert (await b.announce()) == Presence(replicas=2, keys=3)
    assert (await a.announce(refresh=True)).share == 2

    first = await a.poll_once()
    second = await b.poll_once()
    assert len(first.keys) == 2 and len(second.keys) == 1
    assert {k.provider for k in first.keys} | {k.provider for k in second.keys} == {
        "nosana",
        "akash",
        "neuranet",
    }
    # Nothing is due until the interval has passed.
    assert (await a.poll_once()).keys == [] and (await b.poll_once()).keys == []


async def test_a_share_left_unpolled_is_taken_at_the_next_look(env: SlackEnv) -> None:
    await env.command("watch all")
    now = [1_000_000.0]
    a, b = _pollers(env, now, "replica-a", "replica-b")
    await b.announce()  # b is alive but does not poll (slow, or about to die)
    assert len((await a.poll_once()).keys) == 2
    assert len((await a.poll_once()).keys) == 1  # the one b left
    assert (await a.poll_once()).keys == []


async def test_a_replica_that_stops_or_dies_stops_counting(env: SlackEnv) -> None:
    await env.command("watch all")
    now = [1_000_000.0]
    a, b, c = _pollers(env, now, "replica-a", "replica-b", "x" * 80)
    await b.announce()
    await c.announce()  # a long name is stored digested, within the column
    assert (await a.announce()).replicas == 3
    await c.retire()
    assert (await a.announce(refresh=True)).replicas == 2
    # b never announces again: once its presence expires it no longer counts.
    now[0] += a.presence_ttl + 1
    assert (await a.announce(refresh=True)) == Presence(replicas=1, keys=3)
    assert presence_name("x" * 80) != "x" * 80 and len(presence_name("x" * 80)) <= 32


async def test_presence_rows_are_never_poll_keys(env: SlackEnv) -> None:
    await env.command("watch all")
    now = [1_000_000.0]
    [a] = _pollers(env, now, "replica-a")
    await a.announce()
    store = a.store
    await store.sync_poll_keys()  # must not delete the presence row as a stale key
    claimed = await store.claim_due_keys("other", limit=10, lease_seconds=60, force=True)
    assert len(claimed) == 3 and all(k.provider != PRESENCE for k in claimed)
    assert (await a.announce(refresh=True)).replicas == 1


async def test_a_change_is_written_and_announced_before_the_walk_ends(
    env: SlackEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = env.api("neuranet")
    api.seed_bulk(env.keys["neuranet"], 250)
    await env.command("watch neuranet")
    runner = env.bot.build_watcher(pace=0.0)
    poller = runner.poller
    await poller.poll_once(force=True)  # the baseline
    first_page = await _first_page_ids(env)
    api.force_status(first_page[0], "stopping")

    pages: list[int] = []
    written_after: list[int] = []
    real = poller_module.KeyPoll.diff_page

    def counting(self: Any, items: list[Any]) -> list[Any]:
        pages.append(len(items))
        return real(self, items)

    monkeypatch.setattr(poller_module.KeyPoll, "diff_page", counting)
    poller.on_written = lambda: written_after.append(len(pages))
    stats = await poller.poll_once(force=True)
    assert [k.notifications for k in stats.keys] == [1]
    assert len(pages) >= 3  # the walk read every page …
    assert written_after == [1]  # … but the change was written (once) after the first
    assert await poller.store.outbox_depth() == 1


async def test_a_change_deploybot_makes_during_a_poll_is_polled_at_once(
    env: SlackEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """deploybot asks for its key to be polled at once after it changes a deployment (so the
    channel sees the change's first state, e.g. "stopping", which may last only seconds). When
    that request lands while a replica is polling the key, the poll's release must keep it."""
    await env.command("watch all")
    now = [1_000_000.0]
    [a] = _pollers(env, now, "replica-a")
    assert {k.provider for k in (await a.poll_once()).keys} == {"nosana", "akash", "neuranet"}
    assert (await a.poll_once()).keys == []  # nothing is due before the interval
    now[0] += a.interval  # the next cycle …

    real = Poller._look_up_missing
    asked: list[str] = []

    async def ask_after_the_walk(self: Poller, poll: Any) -> None:
        if poll.key.provider == "neuranet" and not asked:
            # … deploybot stops a NeuraNET deployment after this poll read the list
            asked.append(poll.key.provider)
            await self.store.poll_soon(TEAM, None, "neuranet")
        await real(self, poll)

    monkeypatch.setattr(Poller, "_look_up_missing", ask_after_the_walk)
    cycle = await a.poll_once()
    assert asked and {k.provider for k in cycle.keys} == {"nosana", "akash", "neuranet"}
    # The NeuraNET key is due again at once; the others wait for the interval.
    assert [k.provider for k in (await a.poll_once()).keys] == ["neuranet"]
    assert (await a.poll_once()).keys == []
    now[0] += a.interval
    assert len((await a.poll_once()).keys) == 3


async def _first_page_ids(env: SlackEnv) -> list[str]:
    from bot.providers import build_provider

    client = build_provider("neuranet", _secret(env.keys["neuranet"]), env.settings)
    try:
        page = await client.list_raw_page(limit=poller_module.PAGE_SIZE)
    finally:
        await client.aclose()
    ids = [client.watch_fields(i) for i in page.items]
    return [i[0] for i in ids if i is not None]


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


async def test_a_baseline_is_written_in_parts(
    env: SlackEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.api("neuranet").seed_bulk(env.keys["neuranet"], 450)
    await env.command("watch neuranet")
    monkeypatch.setattr(poller_module, "FLUSH_ROWS", 150)
    store = env.bot.watches.store  # type: ignore[union-attr]
    parts: list[int] = []
    real = WatchStore.record_part

    async def spy(self: WatchStore, key: Any, owner: str, **rows: Any) -> None:
        parts.append(len(rows["new_states"]))
        await real(self, key, owner, **rows)

    monkeypatch.setattr(WatchStore, "record_part", spy)
    runner = env.bot.build_watcher(pace=0.0)
    stats = await runner.poller.poll_once(force=True)
    [key] = stats.keys
    assert key.error is None and key.deployments >= 450
    assert len(parts) >= 2 and max(parts) <= 150 + poller_module.PAGE_SIZE
    [poll_key] = await store.claim_due_keys("check", limit=5, lease_seconds=5, force=True)
    assert len(await store.fingerprints(poll_key)) == key.deployments  # every state written


async def test_cards_go_first_then_replies_with_a_short_burst(env: SlackEnv) -> None:
    await env.command("watch neuranet")
    runner: WatchRunner = env.bot.build_watcher(pace=0.0)
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
    sender.pace, sender.burst, sender.sleep = 1.0, 3, sleep
    sender.clock = lambda: start + offset[0]
    assert await sender.send_once() == 2
    calls = env.calls("chat.postMessage")
    kinds = ["reply" if c.body.get("thread_ts") else "card" for c in calls]
    assert kinds == ["card", "card", "reply", "reply"]
    cards = [json.dumps(c.body["blocks"]) for c in calls[:2]]
    assert any(NEURANET_RUNNING in c for c in cards) and any(NEURANET_FAILED in c for c in cards)
    # Three at once, the fourth a second later: never more than burst + elapsed / pace.
    assert waits == [pytest.approx(1.0)]


async def test_after_a_burst_the_pace_is_one_a_second(env: SlackEnv) -> None:
    await env.command("watch neuranet")
    runner = env.bot.build_watcher(pace=0.0)
    await runner.poller.poll_once(force=True)
    api = env.api("neuranet")
    api.force_status(NEURANET_RUNNING, "stopped")
    api.force_status(NEURANET_FAILED, "running")
    await runner.poller.poll_once(force=True)
    api.force_status(NEURANET_RUNNING, "running")
    await runner.poller.poll_once(force=True)
    offset = [0.0]
    start = time.time()
    stamps: list[float] = []

    async def sleep(seconds: float) -> None:
        offset[0] += seconds

    sender = runner.sender
    sender.pace, sender.burst, sender.sleep = 1.0, 2, sleep
    sender.clock = lambda: start + offset[0]
    real_call = sender._call

    async def timed(client: Any, method: str, rows: Any, **kwargs: Any) -> Any:
        if method == "chat.postMessage":
            stamps.append(sender.clock() - start)
        return await real_call(client, method, rows, **kwargs)

    sender._call = timed  # type: ignore[method-assign]
    assert await sender.send_once() == 3
    assert len(stamps) == 5  # two cards, three replies
    for i, at in enumerate(stamps):
        # The (i+1)-th post never comes before burst allowance + pace allows it.
        assert i + 1 <= sender.burst + at / sender.pace + 1e-6
    assert stamps[:2] == [0.0, 0.0] and stamps[2:] == pytest.approx([1.0, 2.0, 3.0])


async def test_stored_fingerprints_read_in_slices_on_the_loop_match_the_plain_read(
    env: SlackEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a key's fingerprints are read on the loop's thread, a slice at a time in
    deployment-id order: every row once (the account's row, with an empty id, included),
    the same table the async engine's read gives."""
    env.api("neuranet").seed_bulk(env.keys["neuranet"], 450)
    await env.command("watch neuranet")
    await env.bot.build_watcher(pace=0.0).poller.poll_once(force=True)
    store = env.bot.watches.store  # type: ignore[union-attr]
    [key] = await store.claim_due_keys("check", limit=5, lease_seconds=5, force=True)
    async with env.storage.engine.begin() as conn:  # an account row beside the deployments
        await conn.execute(
            text(
                "INSERT INTO watched_states (enterprise_id, team_id, provider, deployment_id,"
                " name, status, alerts, seq, gone, fingerprint, updated_at)"
                " VALUES (:ent, :team, :provider, '', '', 'account', '', 1, false, 'acct', 1)"
            ),
            {"ent": key.enterprise_id, "team": key.team_id, "provider": key.provider},
        )
        rows = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM watched_states WHERE team_id = :team"
                    " AND provider = :provider"
                ),
                {"team": key.team_id, "provider": key.provider},
            )
        ).scalar_one()
    assert rows >= 451
    monkeypatch.setattr(state_store, "PRINT_SLICE", 100)
    slices: list[int] = []
    real_slice = state_store._print_slice

    def counted(params: Any, conn: Any) -> Any:
        found = real_slice(params, conn)
        slices.append(len(found))
        return found

    monkeypatch.setattr(state_store, "_print_slice", counted)
    sliced = await store.fingerprints(key)
    plain = await WatchStore(env.storage.engine).fingerprints(key)  # (no loop-thread reader)
    assert len(sliced) == len(plain) == rows
    assert dict(sliced.items()) == dict(plain.items())
    if env.storage.writer is not None:  # SQLite in a file
        assert store.reader is env.storage.writer
        assert sum(slices) == rows and len(slices) == rows // 100 + 1
    else:
        assert slices == []
