"""Test databases: a SQLite file per test, and a throwaway PostgreSQL database per session.

Tests that need PostgreSQL use the ``db_url`` fixture parametrized over both backends. When
PostgreSQL is unreachable they are skipped locally, but fail under CI=true, where it must run.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest

ADMIN_URL = os.environ.get(
    "DEPLOYBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


async def _admin(sql: str, url: str = ADMIN_URL) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; its URL (postgres:// form)."""
    name = f"deploybot_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        message = f"PostgreSQL is not reachable at {ADMIN_URL}: {type(exc).__name__}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: the PostgreSQL tests must run)")
        pytest.skip(message)
    base, _, _ = ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A database URL for each backend the suite must pass on."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/deploybot.db"
    url = request.getfixturevalue("postgres_database")
    # Every test starts from an empty schema (the database itself lives for the session).
    asyncio.run(_admin("DROP SCHEMA public CASCADE; CREATE SCHEMA public", url))
    return url
