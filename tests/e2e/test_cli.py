"""The deploybot command line, run as a user would: the sandbox command and key provisioning."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

import httpx
import pytest

from sandbox.clock import ManualClock
from sandbox.server import SandboxCluster

LIST_PATHS = {"nosana": "/deployments", "akash": "/v1/deployments", "neuranet": "/deployments"}


def _auth(provider: str, key: str) -> dict[str, str]:
    return {"x-api-key": key} if provider == "akash" else {"Authorization": f"Bearer {key}"}


async def test_sandbox_command_prints_one_line_per_api_and_serves_them() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sandbox", "--stop-after", "20",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        lines = []
        for _ in range(3):
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=15)  # type: ignore[union-attr]
            lines.append(line.decode().strip())
        parsed = [line.split(" ") for line in lines]
        assert [p[0] for p in parsed] == ["nosana", "akash", "neuranet"]
        assert parsed[0][1].endswith("/api")
        assert parsed[2][1].endswith("/api")
        async with httpx.AsyncClient(timeout=5) as client:
            for provider, base_url, key in parsed:
                assert base_url.startswith("http://127.0.0.1:")
                ok = await client.get(base_url + LIST_PATHS[provider], headers=_auth(provider, key))
                assert ok.status_code == 200, (provider, ok.text)
                bad = await client.get(
                    base_url + LIST_PATHS[provider], headers=_auth(provider, key + "x")
                )
                assert bad.status_code == 401, (provider, bad.text)
    finally:
        if proc.returncode is None:
            proc.send_signal(2)  # Ctrl-C
        code = await asyncio.wait_for(proc.wait(), timeout=10)
    assert code == 0


async def _cli(*args: str, stdin: str = "", env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def cluster():
    async with SandboxCluster(ManualClock()) as running:
        yield running


async def test_keys_set_verifies_reads_stdin_and_stores_encrypted(
    cluster: SandboxCluster, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DEPLOYBOT_DATA_DIR": str(tmp_path),
        "NOSANA_API_URL": cluster.base_url("nosana"),
        "AKASH_API_URL": cluster.base_url("akash"),
        "NEURANET_API_URL": cluster.base_url("neuranet"),
    }
    env.pop("DATABASE_URL", None)
    env.pop("DEPLOYBOT_ENCRYPTION_KEYS", None)
    seen: list[str] = []
    for provider in ("nosana", "akash", "neuranet"):
        key = cluster.api(provider).demo_api_key
        code, out, err = await _cli(
            "keys", "set", provider, "--team", "T1", stdin=key + "\n", env=env
        )
        assert code == 0, err
        assert f"stored {provider} key …{key[-4:]} for T1" in out
        seen.append(out + err)
        wrong = key[:-4] + "0000" if not key.endswith("0000") else key[:-4] + "1111"
        code, out, err = await _cli(
            "keys", "set", provider, "--team", "T2", stdin=wrong + "\n", env=env
        )
        assert code == 1
        assert "refused the key" in err
        seen.append(out + err)
    code, out, err = await _cli("keys", "list", env=env)
    assert code == 0
    rows = [line.split("\t") for line in out.splitlines()]
    assert sorted((r[0], r[1]) for r in rows) == [
        ("T1", "akash"),
        ("T1", "neuranet"),
        ("T1", "nosana"),
    ]
    assert all("+00:00" in r[4] for r in rows)
    seen.append(out + err)
    db = sqlite3.connect(tmp_path / "deploybot.db")
    dump = "\n".join(db.iterdump())
    db.close()
    for provider in ("nosana", "akash", "neuranet"):
        key = cluster.api(provider).demo_api_key
        assert key not in dump
        assert all(key not in text for text in seen)
    assert oct((tmp_path / "deploybot.key").stat().st_mode & 0o777) == "0o600"
    code, out, _ = await _cli("keys", "remove", "akash", "--team", "T1", env=env)
    assert code == 0 and "removed 1" in out


async def test_keys_set_with_empty_stdin_stores_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "DEPLOYBOT_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    code, _, err = await _cli("keys", "set", "nosana", "--team", "T1", "--no-verify", env=env)
    assert code == 2
    assert "no key on standard input" in err


async def test_keys_refuse_postgres_without_encryption_keys(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
    env.pop("DEPLOYBOT_ENCRYPTION_KEYS", None)
    code, _, err = await _cli("keys", "list", env=env)
    assert code == 1
    assert "DEPLOYBOT_ENCRYPTION_KEYS must be set" in err


async def test_audit_verify_checks_the_local_shells_database_and_never_makes_an_empty_one(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "DEPLOYBOT_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    code, _, err = await _cli("audit", "verify", env=env)
    assert code == 2 and "no database at" in err and "nothing to verify" in err
    assert not (tmp_path / "deploybot.db").exists()
    # The local shell's database (what `make run` writes) is the one checked when it exists.
    from bot.db.migrate import upgrade_async

    await upgrade_async(f"sqlite:///{tmp_path / 'shell.db'}")
    code, out, _ = await _cli("audit", "verify", env=env)
    assert code == 0, out
    assert f"checking sqlite:///{tmp_path / 'shell.db'}" in out
    assert "audit log intact: 0 entries" in out
    assert not (tmp_path / "deploybot.db").exists()
