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


async def _serve(tmp_path: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    # cwd=tmp_path: a developer's .env in the checkout must not leak into the test.
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve",
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
