"""``deploybot serve`` as a process: it refuses settings that can't serve Slack, and it serves,
answers /healthz and stops cleanly on SIGTERM when they can."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.slack_local import payloads
from bot.slack_local.fake_api import FakeSlackAPI

ROOT = Path(__file__).resolve().parents[2]
#: Nothing in these tests may reach a real provider: every provider URL is a closed port.
NOWHERE = "http://127.0.0.1:9"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh install: no Slack settings, a SQLite file under tmp_path."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DEPLOYBOT_", "NOSANA_", "AKASH_", "NEURANET_"))
        and k not in ("DATABASE_URL", "PORT", "HOST")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path}/deploybot.db",
        DEPLOYBOT_DATA_DIR=str(tmp_path),
        NOSANA_API_URL=NOWHERE,
        AKASH_API_URL=NOWHERE,
        NEURANET_API_URL=NOWHERE,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    env.update(extra)
    return env


async def _serve(
    tmp_path: Path, env: dict[str, str], command: str = "serve"
) -> asyncio.subprocess.Process:
    # cwd=tmp_path: a developer's .env in the checkout must not leak into the test.
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", command,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=tmp_path,
    )  # fmt: skip


async def _refused(tmp_path: Path, **extra: str) -> tuple[int, str]:
    proc = await _serve(tmp_path, _env(tmp_path, **extra))
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout=15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def test_serve_without_signing_secret_refuses(tmp_path: Path) -> None:
    code, err = await _refused(tmp_path, SLACK_BOT_TOKEN="xoxb-1-2-3")
    assert code == 2, err
    assert "SLACK_SIGNING_SECRET" in err
    assert "Traceback" not in err


async def test_serve_without_any_credentials_refuses(tmp_path: Path) -> None:
    code, err = await _refused(tmp_path)
    assert code == 2, err
    assert "SLACK_BOT_TOKEN" in err
    assert "SLACK_SIGNING_SECRET" in err  # everything missing is named at once
    assert "Traceback" not in err


async def test_serve_with_a_client_id_but_no_secret_refuses(tmp_path: Path) -> None:
    code, err = await _refused(
        tmp_path, SLACK_CLIENT_ID="1.2", SLACK_SIGNING_SECRET="s3cret", SLACK_BOT_TOKEN="xoxb-1"
    )
    assert code == 2, err
    assert "SLACK_CLIENT_SECRET" in err


async def test_serve_with_an_unknown_log_format_refuses_by_name(tmp_path: Path) -> None:
    code, err = await _refused(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s3cret",
        DEPLOYBOT_LOG_FORMAT="xml",
    )
    assert code == 2, err
    assert "DEPLOYBOT_LOG_FORMAT: Input should be 'json' or 'text'" in err
    assert "Traceback" not in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_serve_answers_healthz_and_slack_then_stops_on_sigterm(tmp_path: Path) -> None:
    secret = "e2e-signing-secret"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    async with FakeSlackAPI() as slack:
        slack.add_token("xoxb-e2e-serve", "T111")
        env = _env(
            tmp_path,
            SLACK_BOT_TOKEN="xoxb-e2e-serve",
            SLACK_SIGNING_SECRET=secret,
            SLACK_API_URL=slack.base_url,
            PORT=str(port),
            HOST="127.0.0.1",
        )
        proc = await _serve(tmp_path, env)
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
                health: dict[str, str] = {}
                for _ in range(150):  # 15 s at most
                    assert proc.returncode is None, "deploybot serve exited early"
                    try:
                        async with http.get(f"{base}/healthz") as response:
                            if response.status == 200:
                                health = await response.json()
                                break
                    except aiohttp.ClientConnectionError:
                        pass
                    await asyncio.sleep(0.1)
                assert health == {"database": "ok", "status": "ok"}

                command = payloads.slash_command(
                    secret=secret, text="help", response_url=slack.response_url()
                )
                async with http.post(
                    f"{base}/slack/events", data=command.body, headers=command.headers
                ) as response:
                    assert response.status == 200
                    assert "/deploy list" in json.dumps(await response.json())
                forged = payloads.slash_command(
                    secret="not-the-secret", text="help", response_url=slack.response_url()
                )
                async with http.post(
                    f"{base}/slack/events", data=forged.body, headers=forged.headers
                ) as response:
                    assert response.status == 401
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), timeout=10)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        err = (await proc.stderr.read()).decode()  # type: ignore[union-attr]
    assert code == 0, err
    assert "Traceback" not in err


async def _wait_ready(
    http: aiohttp.ClientSession, base: str, proc: asyncio.subprocess.Process
) -> None:
    for _ in range(150):  # 15 s at most
        assert proc.returncode is None, "deploybot serve exited early"
        try:
            async with http.get(f"{base}/readyz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("deploybot serve never became ready")


async def _keys_set(tmp_path: Path, env: dict[str, str], provider: str, key: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "keys", "set", provider, "--team", "T111", "--no-verify",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env, cwd=tmp_path,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(key.encode() + b"\n"), timeout=30)
    assert proc.returncode == 0, (out + err).decode()


async def test_sigterm_lets_work_in_flight_finish_then_exits_0(tmp_path: Path) -> None:
    """``serve`` (web) acks and writes the job, ``worker`` runs it. SIGTERM to both while the
    operation waits on a slow provider: the web process stops taking requests at once, the
    worker still finishes the operation and answers the person, and both exit cleanly. The
    log is JSON lines (the default for serve and worker)."""
    secret = "e2e-signing-secret"
    port, worker_port = _free_port(), _free_port()
    base = f"http://127.0.0.1:{port}"
    called, release = asyncio.Event(), asyncio.Event()

    async def slow_provider(request: web.Request) -> web.Response:
        called.set()
        await asyncio.wait_for(release.wait(), timeout=20)
        return web.json_response({"message": "slow provider says no"}, status=404)

    provider_app = web.Application()
    provider_app.router.add_route("*", "/{tail:.*}", slow_provider)
    runner = web.AppRunner(provider_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    provider_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/api"  # type: ignore[union-attr]
    try:
        async with FakeSlackAPI() as slack:
            slack.add_token("xoxb-e2e-serve", "T111")
            env = _env(
                tmp_path,
                SLACK_BOT_TOKEN="xoxb-e2e-serve",
                SLACK_SIGNING_SECRET=secret,
                SLACK_API_URL=slack.base_url,
                PORT=str(port),
                HOST="127.0.0.1",
                NOSANA_API_URL=provider_url,
                DEPLOYBOT_SHUTDOWN_TIMEOUT="15",
                DEPLOYBOT_WORKER_PORT=str(worker_port),
            )
            await _keys_set(tmp_path, env, "nosana", "nos_" + "k" * 40)
            proc = await _serve(tmp_path, env)
            worker = await _serve(tmp_path, env, "worker")
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
                    await _wait_ready(http, base, proc)
                    await _wait_ready(http, f"http://127.0.0.1:{worker_port}", worker)
                    async with http.get(f"{base}/livez") as response:
                        assert response.status == 200
                        assert await response.json() == {"status": "ok"}
                    command = payloads.slash_command(
                        secret=secret, text="list nosana", response_url=slack.response_url("k1")
                    )
                    async with http.post(
                        f"{base}/slack/events", data=command.body, headers=command.headers
                    ) as response:
                        assert response.status == 200
                    await asyncio.wait_for(called.wait(), timeout=10)
                    before = len(slack.calls_to("response_url"))
                    proc.send_signal(signal.SIGTERM)
                    worker.send_signal(signal.SIGTERM)
                    await asyncio.sleep(0.5)
                    assert worker.returncode is None  # still draining
                    try:  # no new work is taken
                        async with http.get(f"{base}/livez") as response:
                            raise AssertionError(f"answered {response.status} while draining")
                    except aiohttp.ClientConnectionError:
                        pass
                    release.set()
                    code = await asyncio.wait_for(proc.wait(), timeout=20)
                    worker_code = await asyncio.wait_for(worker.wait(), timeout=20)
            finally:
                release.set()
                for running in (proc, worker):
                    if running.returncode is None:
                        running.kill()
                        await running.wait()
            err = (await proc.stderr.read()).decode()  # type: ignore[union-attr]
            worker_err = (await worker.stderr.read()).decode()  # type: ignore[union-attr]
            after = [c for c in slack.calls_to("response_url") if c.response_url == "k1"]
    finally:
        await runner.cleanup()
    assert code == 0, err
    assert worker_code == 0, worker_err
    assert "Traceback" not in err and "Traceback" not in worker_err
    assert len(slack.calls_to("response_url")) > before, "the operation in flight never answered"
    assert "Nosana" in json.dumps(after[-1].body)
    records = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert {"timestamp", "level", "logger", "message"} <= set(records[0])
    messages = [r["message"] for r in records]
    assert any("shutting down" in m for m in messages)
    assert messages[-1] == "stopped"
