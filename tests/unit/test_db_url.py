"""DATABASE_URL normalization (Heroku's postgres://, sslmode) and refusal of what we can't use."""

from __future__ import annotations

import pytest

from bot.db.engine import DatabaseURLError, create_engine, is_sqlite, normalize_database_url


@pytest.mark.parametrize(
    ("raw", "driver", "ssl"),
    [
        ("postgres://u:p@db.example:5432/app", "postgresql+asyncpg", None),
        ("postgresql://u:p@db.example/app?sslmode=require", "postgresql+asyncpg", "require"),
        ("postgres://u:p@h/app?sslmode=disable", "postgresql+asyncpg", False),
        ("postgresql+asyncpg://u@h/app", "postgresql+asyncpg", None),
        ("sqlite:///tmp/x.db", "sqlite+aiosqlite", None),
        ("sqlite+aiosqlite:///tmp/x.db", "sqlite+aiosqlite", None),
    ],
)
def test_normalize(raw: str, driver: str, ssl: object) -> None:
    url, connect_args = normalize_database_url(raw)
    assert url.drivername == driver
    assert "sslmode" not in url.query
    assert connect_args.get("ssl") == ssl


def test_other_query_parameters_survive() -> None:
    url, args = normalize_database_url("postgres://u@h/app?sslmode=require&application_name=bot")
    assert url.query == {"application_name": "bot"}
    assert args == {"ssl": "require"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("mysql://u@h/app", "supports PostgreSQL and SQLite"),
        ("postgres://u@h/app?sslmode=sometimes", "sslmode='sometimes'"),
        ("not a url", "not a valid database URL"),
    ],
)
def test_refused(raw: str, message: str) -> None:
    with pytest.raises(DatabaseURLError, match=message):
        normalize_database_url(raw)


def test_password_is_not_in_the_error() -> None:
    with pytest.raises(DatabaseURLError) as info:
        normalize_database_url("mysql://user:hunter2@h/app")
    assert "hunter2" not in str(info.value)


async def test_sqlite_engine_creates_its_folder(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/nested/dir/bot.db")
    try:
        assert is_sqlite(engine.url)
        async with engine.connect() as conn:
            result = await conn.exec_driver_sql("PRAGMA foreign_keys")
            assert result.scalar() == 1
        assert (tmp_path / "nested" / "dir" / "bot.db").exists()
    finally:
        await engine.dispose()


def test_database_outages_are_told_apart_from_other_failures() -> None:
    import aiohttp
    from sqlalchemy.exc import IntegrityError, OperationalError

    from bot.db.engine import is_database_outage

    assert is_database_outage(ConnectionRefusedError(111, "Connect call failed"))
    assert is_database_outage(OperationalError("SELECT 1", {}, Exception("gone")))
    assert not is_database_outage(IntegrityError("INSERT", {}, Exception("duplicate")))
    assert not is_database_outage(TimeoutError())  # a budget ran out: not necessarily the db
    assert not is_database_outage(aiohttp.ClientConnectionError("slack.com"))
    assert not is_database_outage(ValueError("a bug"))
