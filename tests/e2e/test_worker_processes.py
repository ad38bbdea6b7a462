"""Real processes: one ``deploybot serve`` (web) and two ``deploybot worker`` on one database
(SQLite and PostgreSQL). A worker is SIGKILLed while its provider call is in flight; the other
worker takes the job over once the lease runs out, finds the call already carried out (it
reads the deployment instead of sending the call again) and tells the person — the provider
saw the call exactly once."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import aiohttp
from sqlalchemy import select

from bot.db.access import AccessStore
from bot.db.engine import create_engine
from bot.db.jobs import JOBS
from bot.slack_local import payloads
from bot.slack_local.fake_api import FakeSlackAPI
from sandbox.clock import ManualClock
from sandbox.server import SandboxCluster
from tests.e2e.harness import OPEN_POLICY
from tests.e2e.test_serve import _env, _free_port, _serve, _wait_ready

KEY = "Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtbG9uZy1rZXk="
DELAY = 8.0


async def _keys_set(tmp_path: Path, env: dict[str, str], provider: str, key: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "keys", "set", provider, "--team", "T111", "--no-verify",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env, cwd=tmp_path,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(key.encode() + b"\n"), timeout=30)
    assert proc.returncode == 0, (out + err).decode()


async def _open_policy(database_url: str) -> None:
    """Every change runs at once (no approvals): the job goes straight to the provider."""
    engine = create_engine(_async_url(database_url))
    try:
        await AccessStore(engine).save_policy("T111", None, OPEN_POLICY, updated_by="UADMIN")
    finally:
        await engine.dispose()


def _async_url(database_url: str) -> str:
    return database_url.replace("postgresql://", "postgresql+asyncpg://").replace(
        "sqlite:///", "sqlite+aiosqlite:///"
    )


async def _recorded(database_url: str, method: str, timeout: float = 20.0) -> None:
    """Wait until a job's journal holds ``method`` (the call is being sent)."""
    engine = create_engine(_async_url(database_url))
    try:
        for _ in range(int(timeout / 0.05)):
            async with engine.connect() as conn:
                calls = (await conn.execute(select(JOBS.c.calls))).scalars().all()
            if any(f'"method":"{method}"' in str(c) for c in calls):
                return
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    raise AssertionError(f"no job ever recorded a {method}")


async def test_sigkill_of_a_worker_mid_call_is_taken_over_and_not_sent_twice(
    db_url: str, tmp_path: Path
) -> None:
    secret = "e2e-signing-secret"
    web_port, port_a, port_b = _free_port(), _free_port(), _free_port()
    base = f"http://127.0.0.1:{web_port}"
    async with SandboxCluster(ManualClock()) as cluster, FakeSlackAPI() as slack:
        slack.add_token("xoxb-e2e-serve", "T111")
        nosana = cluster.api("nosana")
        dep = next(d for d in nosana.deployments.values() if d.status == "RUNNING")
        stop_path = rf".*/deployments/{dep.id}/stop"
        # the provider takes its time (long enough for the kill to land mid-call on a busy
        # machine); it carries the stop out all the same
        nosana.inject(method="POST", path=stop_path, status=None, delay=DELAY)
        env = _env(
            tmp_path,
            DATABASE_URL=db_url,
            DEPLOYBOT_ENCRYPTION_KEYS=KEY,
            SLACK_BOT_TOKEN="xoxb-e2e-serve",
            SLACK_SIGNING_SECRET=secret,
            SLACK_API_URL=slack.base_url,
            PORT=str(web_port),
            HOST="127.0.0.1",
            NOSANA_API_URL=cluster.base_url("nosana"),
            AKASH_API_URL=cluster.base_url("akash"),
            NEURANET_API_URL=cluster.base_url("neuranet"),
            DEPLOYBOT_JOB_LEASE_SECONDS="1",
            DEPLOYBOT_JOB_POLL_SECONDS="0.1",
            DEPLOYBOT_POLL_INTERVAL="3600",
        )
        await _keys_set(tmp_path, env, "nosana", nosana.demo_api_key)
        await _open_policy(db_url)
        web = await _serve(tmp_path, env)
        doomed = await _serve(tmp_path, {**env, "DEPLOYBOT_WORKER_PORT": str(port_a)}, "worker")
        survivor: asyncio.subprocess.Process | None = None
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
                await _wait_ready(http, base, web)
                await _wait_ready(http, f"http://127.0.0.1:{port_a}", doomed)
                command = payloads.slash_command(
                    secret=secret,
                    text=f"stop {dep.name}",
                    response_url=slack.response_url("k1"),
                    team_id="T111",
                )
                async with http.post(
                    f"{base}/slack/events", data=command.body, headers=command.headers
                ) as response:
                    assert response.status == 200
                await _recorded(db_url, "stop")
                doomed.send_signal(signal.SIGKILL)  # mid-call: nothing finished, no answer
                await doomed.wait()
                for _ in range(int(DELAY / 0.1) + 50):  # the sandbox carries the stop out
                    if nosana.count("POST", stop_path) == 1:
                        break
                    await asyncio.sleep(0.1)
                assert not [
                    c for c in slack.calls_to("response_url") if "stopped" in json.dumps(c.body)
                ], "the killed worker answered: the kill came too late"
                survivor = await _serve(
                    tmp_path, {**env, "DEPLOYBOT_WORKER_PORT": str(port_b)}, "worker"
                )
                said = ""
                for _ in range(300):  # lease (1 s) + a poll, with room for a slow machine
                    said = "\n".join(
                        json.dumps(c.body)
                        for c in slack.calls_to("response_url")
                        if c.response_url == "k1"
                    )
                    if "went through" in said:
                        break
                    await asyncio.sleep(0.1)
                assert "restarted while doing this" in said and "went through" in said, said
                assert nosana.count("POST", stop_path) == 1  # never sent twice
        finally:
            for proc in (web, doomed, survivor):
                if proc is not None and proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        await asyncio.wait_for(proc.wait(), timeout=20)
                    except TimeoutError:
                        proc.kill()
                        await proc.wait()
        assert survivor is not None and survivor.returncode == 0
        err = (await survivor.stderr.read()).decode()  # type: ignore[union-attr]
        assert "Traceback" not in err, err
