"""Cutting a running app off its database, as an outage does (for the end-to-end tests)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.e2e.harness import SlackEnv

#: Where a cut database "is": a closed port (PostgreSQL), a directory that doesn't exist (SQLite).
DEAD_PORT = 9


async def cut_database(env: SlackEnv) -> None:
    """Point the app's engine at a dead address and drop its pooled connections."""
    engine = env.storage.engine

    @event.listens_for(engine.sync_engine, "do_connect")
    def _dead(dialect: Any, conn_rec: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        if dialect.name == "postgresql":
            cparams["port"] = DEAD_PORT
            cparams["timeout"] = 2
        else:
            cargs[:] = ["/nonexistent-deploybot-dir/deploybot.db"]

    await engine.dispose()
