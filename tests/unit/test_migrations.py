"""Alembic owns the schema: upgrade to head matches the models exactly, and downgrades cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bot.db.engine import create_engine
from bot.db.migrate import current_revision, downgrade, head_revision, upgrade_async
from bot.db.schema import target_metadata


async def test_upgrade_matches_models_and_downgrade_empties(db_url: str) -> None:
    import asyncio

    await asyncio.to_thread(downgrade, db_url, "base")  # a clean slate on the shared database
    await upgrade_async(db_url)
    engine = create_engine(db_url)
    try:
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:

            def diff(sync_conn):  # type: ignore[no-untyped-def]
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return compare_metadata(context, target_metadata)

            assert await conn.run_sync(diff) == []
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {
            "provider_keys",
            "slack_installations",
            "slack_bots",
            "slack_oauth_states",
        } <= tables
        await upgrade_async(db_url)  # idempotent
        await asyncio.to_thread(downgrade, db_url, "base")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert tables <= {"alembic_version"}
    finally:
        await engine.dispose()
