"""Alembic environment: runs migrations on the async engine for DATABASE_URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from bot.config import get_settings
from bot.db.engine import create_engine
from bot.db.migrate import lock_for_migrations
from bot.db.schema import target_metadata

config = context.config


def _url() -> str:
    return config.attributes.get("database_url") or get_settings().effective_database_url


def _run(connection: Connection) -> None:
    # Taken first, so the migrations run inside the transaction that holds the lock (Alembic
    # sees it as the caller's transaction; ``_online`` commits it, which releases the lock).
    lock_for_migrations(connection)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    engine = create_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("deploybot migrations run online only (deploybot db upgrade)")
connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_online())
