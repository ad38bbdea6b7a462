"""Async engines for SQLite (the embedded default) and PostgreSQL (``DATABASE_URL``).

Heroku hands out ``postgres://…?sslmode=require``: SQLAlchemy has no ``postgres`` dialect and
asyncpg rejects ``sslmode``, so :func:`normalize_database_url` rewrites the scheme to
``postgresql+asyncpg`` and turns ``sslmode`` into asyncpg's ``ssl`` connect argument.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

#: sslmode values that mean "encrypt", mapped to what asyncpg's ``ssl=`` accepts.
_SSLMODES = {
    "disable": False,
    "allow": "allow",
    "prefer": "prefer",
    "require": "require",
    "verify-ca": "verify-ca",
    "verify-full": "verify-full",
}


class DatabaseURLError(ValueError):
    """DATABASE_URL is not something deploybot can use."""


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def normalize_database_url(raw: str) -> tuple[URL, dict[str, Any]]:
    """Return the SQLAlchemy async URL and the connect arguments for a DATABASE_URL."""
    try:
        url = make_url(raw.strip())
    except Exception:
        raise DatabaseURLError(
            "DATABASE_URL is not a valid database URL (expected postgres://… or sqlite:///…)."
        ) from None
    connect_args: dict[str, Any] = {}
    backend = url.get_backend_name()
    if backend in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+asyncpg")
        query = dict(url.query)
        sslmode = query.pop("sslmode", None)
        if isinstance(sslmode, tuple):
            sslmode = sslmode[-1]
        if sslmode is not None:
            if sslmode not in _SSLMODES:
                raise DatabaseURLError(
                    f"DATABASE_URL has sslmode={sslmode!r}; expected one of " + ", ".join(_SSLMODES)
                )
            connect_args["ssl"] = _SSLMODES[sslmode]
        url = url.set(query=query)
    elif backend == "sqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    else:
        raise DatabaseURLError(
            f"DATABASE_URL uses {backend!r}; deploybot supports PostgreSQL and SQLite."
        )
    return url, connect_args


def is_sqlite(url: URL | str) -> bool:
    return (make_url(url) if isinstance(url, str) else url).get_backend_name() == "sqlite"


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Under WAL, NORMAL syncs at checkpoints, not at every commit: a commit survives a killed
    # process (what durable jobs need), only a power cut may lose the last ones. Commits of
    # job rows before the ack went from milliseconds to tens of microseconds.
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 512 KiB of page cache per connection, not the default 2 MiB: each pooled connection
    # keeps its cache, and the watcher's concurrent key polls fill several (the OS caches the
    # file anyway; 100k watched: peak RSS 115 → 107 MB, cycle CPU unchanged).
    cursor.execute("PRAGMA cache_size=-512")
    cursor.close()


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """An AsyncEngine for a (raw) DATABASE_URL; SQLite gets WAL and foreign keys."""
    url, connect_args = normalize_database_url(database_url)
    if is_sqlite(url):
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, connect_args=connect_args, **kwargs)


async def ping(engine: AsyncEngine) -> None:
    """One round trip to the database (readiness); raises when it can't be reached."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def is_database_outage(exc: BaseException) -> bool:
    """True when ``exc`` means the database couldn't be reached (refused, reset, timed out, a
    failover in progress), as opposed to a bug or a constraint violation: the person is asked
    to try again instead of being told something broke."""
    if isinstance(exc, DBAPIError):
        invalidated = bool(exc.connection_invalidated)
        return invalidated or isinstance(exc, OperationalError | InterfaceError)
    if isinstance(exc, DisconnectionError | PoolTimeoutError):
        return True
    # asyncpg raises OSError itself when it can't connect (refused, reset, unreachable).
    # aiohttp's connection errors (a Slack call) are OSErrors too, and so is TimeoutError (any
    # budget running out, a slow provider's included): neither says the database is down.
    return isinstance(exc, OSError) and not isinstance(exc, TimeoutError) and not _http_error(exc)


def _http_error(exc: BaseException) -> bool:
    """An aiohttp client error. aiohttp is not imported for it: a process that never imported
    aiohttp (a watcher-only process) cannot have raised one."""
    aiohttp = sys.modules.get("aiohttp")
    return aiohttp is not None and isinstance(exc, aiohttp.ClientError)
