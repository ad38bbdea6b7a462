"""Short SQLite writes made on the event loop's own thread, never waiting on a lock there.

aiosqlite runs every statement in a thread of its own: a write is several hand-offs to that
thread and back, and under load each one waits for the busy event loop (and for the GIL) to
come round again — writing a job before an ack took milliseconds although SQLite itself needs
tens of microseconds. This writer keeps one synchronous connection to the same database file
for the short statements every ack and every job makes — job rows, a worker's claims,
heartbeats and finishes, provider-key reads, a watched key's stored fingerprints (read in
slices) — and runs them directly:

* ``busy_timeout`` is 0: when another connection (a worker, in this process or another) holds
  the write lock, the attempt fails at once (:class:`WriteLocked`) and the caller tries again
  a millisecond later, without blocking the loop (SQLite's own busy handler sleeps 25-100 ms
  between tries after the first few, while other writers take the lock in between: acks
  waited up to 450 ms at 100 commands/s with a busy worker, 45 ms polling);
* ``wal_autocheckpoint`` is 0: a commit here never copies the WAL back into the database (a
  checkpoint reads and syncs megabytes); the other connections — the workers' — checkpoint as
  SQLite's default does, and the writer asks for a passive checkpoint (off the loop) in the
  background after every :data:`CHECKPOINT_EVERY` commits, in case none of them writes;
* under WAL with ``synchronous=NORMAL`` a commit does not sync the disk either, so a write is
  microseconds of CPU.

A database that can't be opened raises what SQLite raised, wrapped as the async engine wraps
it (so an outage reads as one).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import StaticPool

from bot.db.engine import sqlite_pragmas

log = logging.getLogger(__name__)

T = TypeVar("T")

#: A passive checkpoint (through the async engine, off the loop) after this many commits.
CHECKPOINT_EVERY = 500


def _pragmas(dbapi_connection: Any, record: Any) -> None:
    sqlite_pragmas(dbapi_connection, record)  # WAL, synchronous=NORMAL, foreign keys, cache
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


class WriteLocked(Exception):
    """Another connection holds SQLite's write lock: nothing was written."""


def _locked(message: str) -> bool:
    return "locked" in message.lower() or "busy" in message.lower()


@contextmanager
def _lock_errors() -> Iterator[None]:
    """SQLite's "locked"/"busy" as :class:`WriteLocked`; other errors as the async engine
    raises them (SQLAlchemy's ``OperationalError``: an outage is recognised the same way)."""
    try:
        yield
    except OperationalError as exc:  # raised through SQLAlchemy (a statement, a pragma)
        if _locked(str(exc.orig)):
            raise WriteLocked from exc
        raise
    except sqlite3.OperationalError as exc:  # raised by statements run on the DB-API connection
        if _locked(str(exc)):
            raise WriteLocked from exc
        raise OperationalError("", None, exc) from exc


class LoopWriter:
    """Writes to a file SQLite database on the loop's thread (see the module docstring)."""

    def __init__(self, engine: AsyncEngine) -> None:
        url: URL = engine.url.set(drivername="sqlite+pysqlite")
        self.async_engine = engine
        # one connection, kept: only the loop's thread uses it
        self.engine: Engine = create_sync_engine(
            url, poolclass=StaticPool, connect_args={"timeout": 0, "check_same_thread": False}
        )
        event.listen(self.engine, "connect", _pragmas)
        self._commits = 0
        self._checkpoint: asyncio.Task[None] | None = None

    @staticmethod
    def usable(engine: AsyncEngine) -> bool:
        """True for a SQLite database in a file (an in-memory one is private to its
        connection)."""
        url = engine.url
        return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")

    def try_write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on the DB-API connection, in one transaction committed on return, on
        the loop's thread. Raises :class:`WriteLocked` at once (nothing written) when another
        connection holds the write lock: the caller tries again shortly, or writes the way
        that waits for it off the loop. ``work`` runs its statements itself (SQLAlchemy's
        per-statement machinery costs more than inserting a job row: the caller compiles
        them once)."""
        with _lock_errors(), self._raw() as raw:
            try:
                result = work(raw)
                raw.commit()
            except BaseException:
                raw.rollback()
                raise
        self._committed()
        return result

    def try_run(self, work: Callable[[Connection], T]) -> T:
        """Like :meth:`try_write`, for SQLAlchemy statements: ``work`` gets a (synchronous)
        SQLAlchemy connection, in a transaction committed on return."""
        with _lock_errors(), self.engine.begin() as conn:
            result = work(conn)
        self._committed()
        return result

    def try_read(self, work: Callable[[Connection], T]) -> T:
        """A read on the loop's thread (under WAL a reader takes no lock, so this never waits
        on a writer); :class:`WriteLocked` in the rare case SQLite says busy anyway."""
        with _lock_errors(), self.engine.connect() as conn:
            return work(conn)

    def try_read_raw(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Like :meth:`try_read`, on the DB-API connection (for reads of many rows: tuples,
        no result wrapping); ``work`` runs statements that don't write."""
        with _lock_errors(), self._raw() as raw:
            return work(raw)

    @contextmanager
    def _raw(self) -> Iterator[sqlite3.Connection]:
        """The one DB-API connection (a pool checkout, back to the pool still open)."""
        pooled = self.engine.raw_connection()
        try:
            raw = pooled.driver_connection
            assert isinstance(raw, sqlite3.Connection)
            yield raw
        finally:
            pooled.close()

    def _committed(self) -> None:
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0 and self._checkpoint is None:
            self._checkpoint = asyncio.get_running_loop().create_task(
                self._passive_checkpoint(), name="sqlite-checkpoint"
            )

    async def _passive_checkpoint(self) -> None:
        try:
            async with self.async_engine.connect() as conn:
                await conn.execute(text("PRAGMA wal_checkpoint(PASSIVE)"))
        except Exception:  # a checkpoint is housekeeping: the next one will do
            log.debug("passive WAL checkpoint failed", exc_info=True)
        finally:
            self._checkpoint = None

    async def aclose(self) -> None:
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        self.engine.dispose()


@dataclass(frozen=True)
class SqliteStatement:
    """A statement compiled once for SQLite, run on the loop writer's DB-API connection: no
    per-execution cache key, compile lookup or result wrapping (they cost more than the
    statement). Only for statements whose parameters and results need no type conversion."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]

    @classmethod
    def of(cls, stmt: Any, **compile_options: Any) -> SqliteStatement:
        compiled = stmt.compile(dialect=sqlite.dialect(), **compile_options)
        return cls(str(compiled), tuple(compiled.positiontup or ()), dict(compiled.params))

    def args(self, params: dict[str, Any]) -> list[Any]:
        """The positional parameters, ``params`` over the compiled-in values."""
        merged = {**self.defaults, **params}
        return [merged[name] for name in self.names]

    def run(self, params: dict[str, Any], conn: sqlite3.Connection) -> sqlite3.Cursor:
        return conn.execute(self.sql, self.args(params))
