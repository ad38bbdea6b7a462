"""Replicas started together on an empty PostgreSQL database migrate one at a time: every
``deploybot db upgrade`` succeeds and the schema ends at head once."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.db.engine import create_engine
from bot.db.migrate import current_revision, head_revision

ROOT = Path(__file__).resolve().parents[2]


def _env(database_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DEPLOYBOT_")) and k != "DATABASE_URL"
    }
    env["DATABASE_URL"] = database_url
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


async def _upgrade_process(database_url: str, cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "db", "upgrade",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=_env(database_url), cwd=cwd,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, (out + err).decode()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_three_concurrent_upgrades_of_an_empty_database_all_succeed(
    db_url: str, tmp_path: Path
) -> None:
    results = await asyncio.gather(*(_upgrade_process(db_url, tmp_path) for _ in range(3)))
    for code, output in results:
        assert code == 0, output
        assert "database is at the newest schema" in output
        assert "Traceback" not in output
    engine = create_engine(db_url)
    try:
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert [row[0] for row in rows] == [head_revision()]
    finally:
        await engine.dispose()


async def test_the_lock_is_released_after_an_upgrade(db_url: str) -> None:
    """A later upgrade (another replica's restart) never waits on a lock left behind."""
    from bot.db.migrate import upgrade_async

    await upgrade_async(db_url)
    await asyncio.wait_for(upgrade_async(db_url), timeout=30)
    if not db_url.startswith("sqlite"):
        from bot.db.migrate import MIGRATION_LOCK_KEY

        engine = create_engine(db_url)
        try:
            async with engine.connect() as conn:
                held = await conn.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                        " AND classid = :high AND objid = :low AND objsubid = 1"
                        " AND database = (SELECT oid FROM pg_database"
                        " WHERE datname = current_database())"
                    ),
                    {"high": MIGRATION_LOCK_KEY >> 32, "low": MIGRATION_LOCK_KEY & 0xFFFFFFFF},
                )
                assert held.scalar() == 0
        finally:
            await engine.dispose()
