"""Cutting a running app off its database, as an outage does (for the end-to-end tests)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.e2e.harness import SlackEnv

#: Where a cut database "is": a closed port (PostgreSQL), a directory that doesn't exist (SQLite).
DEAD_PORT = 9


async def cut_database(env: SlackEnv) -> None:
    """Point the app's engines at a dead address and drop their pooled connections (the
    async engine, and on SQLite the loop-thread writer of job rows)."""
    engine = env.storage.engine
    writer = env.storage.writer
    if writer is not None:
        event.listen(writer.engine, "do_connect", _dead)
        writer.engine.dispose()
    event.listen(engine.sync_engine, "do_connect", _dead)
    await engine.dispose()


def _dead(dialect: Any, conn_rec: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
    if dialect.name == "postgresql":
        cparams["port"] = DEAD_PORT
        cparams["timeout"] = 2
    else:
        cargs[:] = ["/nonexistent-deploybot-dir/deploybot.db"]
