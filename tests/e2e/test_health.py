"""/livez says the process is up; /readyz (and its alias /healthz) says it can serve: the
database answers and shutdown hasn't begun."""

from __future__ import annotations

import pytest

from bot.server import DRAIN_KEY
from tests.e2e.database_cut import cut_database
from tests.e2e.harness import SlackEnv

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def test_livez_and_readyz_are_ok_when_all_is_well(env: SlackEnv) -> None:
    live = await env.http.get("/livez")
    assert (live.status, await live.json()) == (200, {"status": "ok"})
    for path in ("/readyz", "/healthz"):
        ready = await env.http.get(path)
        assert (ready.status, await ready.json()) == (200, {"database": "ok", "status": "ok"})


async def test_without_its_database_the_process_is_live_but_not_ready(env: SlackEnv) -> None:
    await cut_database(env)
    assert (await env.http.get("/livez")).status == 200  # no restart for a database outage
    ready = await env.http.get("/readyz")
    body = await ready.json()
    assert ready.status == 503
    assert body["status"] == "unhealthy" and body["database"].startswith("unreachable (")


async def test_once_shutdown_begins_readyz_is_503(env: SlackEnv) -> None:
    env.http.app[DRAIN_KEY].begin()
    ready = await env.http.get("/readyz")
    assert ready.status == 503
    assert await ready.json() == {"shutdown": "draining", "database": "ok", "status": "unhealthy"}
    assert (await env.http.get("/livez")).status == 200
