"""Wiring shared by every way of running deploybot: the database, the key ring, the key store."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.crypto import KeyRing
from bot.db.engine import create_engine, is_sqlite, normalize_database_url
from bot.db.keys import KeyStore
from bot.db.loop_writer import LoopWriter


@dataclass
class Storage:
    engine: AsyncEngine
    keyring: KeyRing
    keys: KeyStore
    #: SQLite in a file: job writes and provider-key reads, made on the loop's thread.
    writer: LoopWriter | None = None

    async def aclose(self) -> None:
        if self.writer is not None:
            await self.writer.aclose()
        await self.engine.dispose()


async def open_storage(settings: Settings, *, migrate: bool = True) -> Storage:
    """Engine + key ring + key store for the configured database (migrated to head first)."""
    url = settings.effective_database_url
    sqlite = is_sqlite(normalize_database_url(url)[0])
    keyring = KeyRing.load(settings.encryption_keys, sqlite=sqlite, key_file=settings.key_file)
    if migrate:
        # Alembic is loaded only by the processes that migrate (not by the watcher replicas).
        from bot.db.migrate import upgrade_async

        await upgrade_async(url)
    # room for every job slot of a worker plus the requests and loops around them
    engine = create_engine(url, max_overflow=max(10, settings.job_slots + 4))
    writer = LoopWriter(engine) if LoopWriter.usable(engine) else None
    keys = KeyStore(engine, keyring, reader=writer)
    return Storage(engine=engine, keyring=keyring, keys=keys, writer=writer)
