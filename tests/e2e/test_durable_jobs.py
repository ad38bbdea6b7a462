"""Nothing acknowledged is lost: several app instances on one database (SQLite and PostgreSQL),
one of them killed mid-job.

* a command acked by an instance whose worker is dead is run by another instance;
* an instance killed while its provider call is in flight: the survivor takes the job over
  once the lease runs out, reads the provider's state instead of sending the call again, and
  tells the person what happened — the call reached the sandbox exactly once;
* a recorded-but-unanswered create is never re-sent: it is reconciled against the sandbox.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.core import approvals as msg
from bot.db.jobs import Call
from bot.jobs.reconcile import Verdict, reconcile
from bot.providers.nosana import NosanaCreateSpec
from tests.e2e.harness import ADMIN, CHANNEL, TEAM, SlackEnv, buttons, replica, slack_env

LEASE = 0.6


def _short_leases(*envs: SlackEnv) -> None:
    for env in envs:
        assert env.bot.worker is not None
        env.bot.worker.lease = LEASE
        env.bot.worker.poll = 0.05


def _texts(env: SlackEnv, key: str | None) -> str:
    return "\n".join(str(b.get("text", "")) for b in env.responses(key))


async def test_a_command_acked_by_an_instance_whose_worker_died_is_run_by_another(
    env: SlackEnv,
) -> None:
    async with replica(env) as other:
        _short_leases(env, other)
        assert env.bot.worker is not None
        await env.bot.worker.kill()  # this instance still acks, but runs nothing
        answer = await env.command("show llama-chat", settle=False)
        assert answer.status == 200
        assert await other.bot.work.drain(20)
        assert "llama-chat" in _texts(env, answer.response_key)


async def test_a_job_killed_mid_call_is_taken_over_reconciled_and_not_sent_twice(
    env: SlackEnv,
) -> None:
    nosana = env.api("nosana")
    dep = next(d for d in nosana.deployments.values() if d.status == "RUNNING")
    stop_path = rf".*/deployments/{dep.id}/stop"
    # the provider takes a while: the call is sent (and carried out) while the worker dies
    nosana.inject(method="POST", path=stop_path, status=None, delay=1.0)
    async with replica(env) as other:
        _short_leases(env, other)
        assert other.bot.worker is not None
        await other.bot.worker.kill()  # the survivor starts later
        answer = await env.command(f"stop {dep.name}", settle=False)
        store = env.bot.jobs.store if env.bot.jobs else None
        assert store is not None
        for _ in range(200):  # until the call is written in the job's journal
            row = await store.by_key(_command_key(await _keys(store)))
            if row is not None and '"method":"stop"' in row["calls"]:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the stop was never recorded")
        assert env.bot.worker is not None
        await env.bot.worker.kill()  # SIGKILL: the call is in flight, nothing is finished
        await asyncio.sleep(1.2)  # the sandbox carries the stop out
        assert nosana.count("POST", stop_path) == 1
        other.bot.start_worker()
        assert await other.bot.work.drain(20)
        said = _texts(env, answer.response_key)
        assert "restarted while doing this" in said and "went through" in said, said
        assert nosana.count("POST", stop_path) == 1  # never sent again
        row = await store.by_key(_command_key(await _keys(store)))
        assert row is not None and row["state"] == "done" and row["attempts"] == 2


async def _keys(store: Any) -> list[str]:
    from sqlalchemy import select

    from bot.db.jobs import JOBS

    async with store.engine.connect() as conn:
        return [str(k) for k in (await conn.execute(select(JOBS.c.key))).scalars().all()]


def _command_key(keys: list[str]) -> str:
    found = [k for k in keys if k.startswith("command:")]
    assert len(found) == 1, keys
    return found[0]


async def test_an_unanswered_create_is_reconciled_against_the_sandbox_not_resent(
    env: SlackEnv,
) -> None:
    nosana = env.api("nosana")
    client = await env.bot.pool.get(TEAM, "nosana")
    spec = NosanaCreateSpec(
        name="reconcile-me",
        market=next(iter(nosana.markets)),
        timeout=60,
        job_definition={
            "version": "0.1",
            "type": "container",
            "ops": [{"type": "container/run", "id": "hello", "args": {"image": "ubuntu"}}],
        },
    )
    await client.create(spec)  # the dead worker's call: it reached the provider
    creates = len(nosana.deployments)
    call = Call(seq=1, method="create", provider="nosana", target="reconcile-me")
    written = env.clock.now() - 1  # the job was written just before (on the sandbox's clock)
    judged = await reconcile(client, call, since=written)
    assert judged.verdict is Verdict.HAPPENED, judged
    assert "went through" in judged.text
    assert len(nosana.deployments) == creates  # reconciling never creates
    missing = Call(seq=1, method="create", provider="nosana", target="never-created")
    unsure = await reconcile(client, missing, since=written)
    assert unsure.verdict is Verdict.UNKNOWN and "may or may not have happened" in unsure.text
    assert len(nosana.deployments) == creates
    # an older deployment of the same name is not what the dead worker created
    older = Call(seq=1, method="create", provider="nosana", target="llama3-chat")
    assert (await reconcile(client, older, since=written)).verdict is Verdict.UNKNOWN


@pytest.fixture
async def strict(db_url: str, tmp_path: Any) -> AsyncIterator[SlackEnv]:
    """deploybot's default policy: a start (spend) needs an admin's approval."""
    async with slack_env(db_url, tmp_path, policy=None) as running:
        yield running


async def test_an_approved_run_killed_mid_call_is_finished_by_another_instance(
    strict: SlackEnv,
) -> None:
    env = strict
    nosana = env.api("nosana")
    dep = next(d for d in nosana.deployments.values() if d.status == "STOPPED")
    start_path = rf".*/deployments/{dep.id}/start"
    nosana.inject(method="POST", path=start_path, status=None, delay=1.0)
    async with replica(env) as other:
        _short_leases(env, other)
        assert other.bot.worker is not None
        await other.bot.worker.kill()
        await env.command(f"start {dep.name}")
        [request] = [
            c.body
            for c in env.calls("chat.postMessage")
            if msg.APPROVE in buttons(c.body)
            and not c.body.get("thread_ts")
            and c.body.get("channel") == CHANNEL
        ]
        await env.click(msg.APPROVE, buttons(request)[msg.APPROVE], user=ADMIN, settle=False)
        store = env.bot.jobs.store if env.bot.jobs else None
        assert store is not None
        for _ in range(300):
            row = await store.by_key(
                next((k for k in await _keys(store) if k.startswith("approved:")), "")
            )
            if row is not None and '"method":"start"' in row["calls"]:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the approved start was never recorded")
        assert env.bot.worker is not None
        await env.bot.worker.kill()
        await asyncio.sleep(1.2)
        other.bot.start_worker()
        assert await other.bot.work.drain(20)
        assert nosana.count("POST", start_path) == 1
        request_id = buttons(request)[msg.APPROVE]
        approval = await env.bot.gate.approvals.get(request_id)
        assert approval is not None and approval.state == "done", approval and approval.state
        thread = [
            c.body.get("text", "") for c in env.calls("chat.postMessage") if c.body.get("thread_ts")
        ]
        assert any("went through" in t for t in thread), thread


async def test_a_retried_form_submission_is_one_job_a_new_form_another(env: SlackEnv) -> None:
    from bot.core import modals
    from bot.slack_local.payloads import input_values
    from tests.e2e.test_slack_interactions import akash_leased

    akash = env.api("akash")
    dseq = akash_leased(env)[0]
    meta = json.dumps({"p": "akash", "d": dseq, "c": "C111"})
    amount = input_values({(modals.AMOUNT_BLOCK, modals.AMOUNT_ACTION): "5"})
    for _ in range(2):  # Slack retries the same submission (same view id)
        done = await env.submit(modals.DEPOSIT, amount, private_metadata=meta, view_id="VSAME")
        assert done.body == {"response_action": "clear"}
    assert akash.count("POST", r"/v1/deposit-deployment") == 1
    await env.submit(modals.DEPOSIT, amount, private_metadata=meta)  # a new form: new deposit
    assert akash.count("POST", r"/v1/deposit-deployment") == 2


async def test_a_double_click_while_the_job_waits_is_one_job(env: SlackEnv) -> None:
    assert env.bot.worker is not None
    await env.bot.worker.kill()  # nothing runs: both clicks find the first job waiting
    value = json.dumps({"s": "", "p": None})
    first = await env.click("list_next", value, settle=False)
    second = await env.click("list_next", value, settle=False)
    assert first.status == second.status == 200
    store = env.bot.jobs.store if env.bot.jobs else None
    assert store is not None
    assert (await store.counts()) == {"queued": 1}


async def test_drain_waits_for_a_job_written_while_it_reads_the_count(
    env: SlackEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job that a running one writes while drain reads the count is due at its write time,
    after the ``now`` that count compared with: drain must not take that count for quiet (the
    waiting workflow step's completion was once left unsent this way)."""
    bot = env.bot
    assert bot.jobs is not None
    ran: list[str] = []

    @bot.job("test_follow_up")
    async def follow_up(job: Any) -> None:
        ran.append(job.key)

    store_type = type(bot.jobs.store)
    real_busy = store_type.busy
    written: list[bool] = []

    async def busy_then_a_job_is_written(self: Any, **kwargs: Any) -> int:
        count = await real_busy(self, **kwargs)
        if not written:  # written after the count's `now`, before drain sees the count
            written.append(True)
            assert await bot.defer("test_follow_up", key="follow-up:1", actor=None, data={})
        return count

    monkeypatch.setattr(store_type, "busy", busy_then_a_job_is_written)
    assert await bot.work.drain(10)
    assert written and ran == ["follow-up:1"]
