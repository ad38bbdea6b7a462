"""Provider keys at rest: encrypted, masked, replaced, removed, re-encrypted — on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.crypto import KeyRing, KeyRingError
from bot.db.engine import create_engine
from bot.db.keys import KeyStore
from bot.db.loop_writer import LoopWriter
from bot.db.models import Base

KEY = SecretStr("nos_live_verysecret_0123456789")


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


async def test_put_get_list_remove(engine: AsyncEngine) -> None:
    store = KeyStore(engine, KeyRing([KeyRing.generate_key()]))
    info = await store.put(team_id="T1", provider="nosana", api_key=KEY, connected_by="U1")
    assert info.key_hint == "…6789"
    assert info.last_verified_at is not None
    got = await store.get(team_id="T1", provider="nosana")
    assert got is not None and got.get_secret_value() == KEY.get_secret_value()
    assert await store.get(team_id="T2", provider="nosana") is None
    assert await store.get(team_id="T1", provider="akash") is None

    await store.put(
        team_id="T1", provider="nosana", api_key=SecretStr("nos_other_abcd"), connected_by="U2"
    )
    listed = await store.list(team_id="T1")
    assert [(i.provider, i.key_hint, i.connected_by) for i in listed] == [("nosana", "…abcd", "U2")]
    assert await store.remove(team_id="T1", provider="nosana") == 1
    assert await store.get(team_id="T1", provider="nosana") is None
    assert await store.remove(team_id="T1", provider="nosana") == 0


async def test_plaintext_never_reaches_the_database(engine: AsyncEngine) -> None:
    store = KeyStore(engine, KeyRing([KeyRing.generate_key()]))
    await store.put(team_id="T1", provider="nosana", api_key=KEY, connected_by="U1")
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM provider_keys"))).all()
    dump = repr(rows)
    assert KEY.get_secret_value() not in dump
    assert "verysecret" not in dump


async def test_remove_whole_workspace(engine: AsyncEngine) -> None:
    store = KeyStore(engine, KeyRing([KeyRing.generate_key()]))
    for provider in ("nosana", "akash"):
        await store.put(team_id="T1", provider=provider, api_key=KEY, connected_by="U1")
    await store.put(team_id="T2", provider="akash", api_key=KEY, connected_by="U1")
    assert await store.remove(team_id="T1") == 2
    assert [i.team_id for i in await store.list()] == ["T2"]


async def test_reencrypt_all_moves_every_key_to_the_new_key(engine: AsyncEngine) -> None:
    old, new = KeyRing.generate_key(), KeyRing.generate_key()
    await KeyStore(engine, KeyRing([old])).put(
        team_id="T1", provider="akash", api_key=KEY, connected_by="U1"
    )
    assert await KeyStore(engine, KeyRing([new, old])).reencrypt_all() == 1
    only_new = KeyStore(engine, KeyRing([new]))
    got = await only_new.get(team_id="T1", provider="akash")
    assert got is not None and got.get_secret_value() == KEY.get_secret_value()
    with pytest.raises(KeyRingError):
        await KeyStore(engine, KeyRing([old])).get(team_id="T1", provider="akash")


async def test_the_loop_thread_reader_answers_like_the_async_engine(tmp_path: Path) -> None:
    """On SQLite a job reads keys on the loop's thread (``reader``): the same keys, the same
    listing, with the same timezone-aware times, as through the async engine."""
    engine = create_engine(f"sqlite:///{tmp_path}/keys.db")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    ring = KeyRing([KeyRing.generate_key()])
    plain, reader = KeyStore(engine, ring), LoopWriter(engine)
    try:
        fast = KeyStore(engine, ring, reader=reader)
        for team, provider in (("T1", "nosana"), ("T1", "akash"), ("T2", "akash")):
            await plain.put(team_id=team, provider=provider, api_key=KEY, connected_by="U1")
        await plain.mark_verified(team_id="T1", provider="akash")
        assert await fast.list() == await plain.list()
        assert await fast.list(team_id="T1") == await plain.list(team_id="T1")
        listed = await fast.list(team_id="T1")
        assert [i.provider for i in listed] == ["akash", "nosana"]
        assert all(i.connected_at.tzinfo is not None for i in listed)
        assert listed[0].last_verified_at is not None and listed[0].last_verified_at.tzinfo
        got = await fast.get(team_id="T2", provider="akash")
        assert got is not None and got.get_secret_value() == KEY.get_secret_value()
        assert await fast.get(team_id="T2", provider="nosana") is None
    finally:
        await reader.aclose()
        await engine.dispose()
