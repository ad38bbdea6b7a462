"""Run Alembic migrations programmatically (``deploybot db upgrade``, tests, start-up)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
#: The PostgreSQL advisory lock every ``db upgrade`` holds (advisory locks are per database;
#: ``int.from_bytes(b"deploybt", "big")``), so replicas started together migrate one at a time.
MIGRATION_LOCK_KEY = 7234311987469574772


def lock_for_migrations(connection: Connection) -> None:
    """Hold the migration lock for the rest of ``connection``'s transaction (PostgreSQL only).

    A second process waits here until the first commits, then finds the schema at head and
    has nothing to do. SQLite needs no lock: it serializes writers itself.
    """
    if connection.dialect.name != "postgresql":
        return
    key = {"key": MIGRATION_LOCK_KEY}
    if connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), key).scalar():
        return
    log.info("another process is migrating the database; waiting for it to finish")
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), key)


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    """Bring the database to ``revision`` (blocking; call from sync code or a thread)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str | None = None, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, database_url, revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine) -> str | None:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
