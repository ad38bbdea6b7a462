"""Per-workspace provider keys, encrypted at rest with the KeyRing."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.crypto import KeyRing, mask
from bot.db.loop_writer import LoopWriter, WriteLocked
from bot.db.models import ProviderKey, utcnow

#: One workspace's key for one provider (every job reads one or more): built once, with bound
#: parameters, rather than for each read.
_KEY_OF = select(ProviderKey.encrypted_key).where(
    ProviderKey.enterprise_id == bindparam("ent"),
    ProviderKey.team_id == bindparam("team"),
    ProviderKey.provider == bindparam("provider"),
)
#: The columns of a stored key that may be shown (never the ciphertext): of every key, and of
#: one workspace's (``team``).
_SHOWN_ALL = select(
    ProviderKey.team_id,
    ProviderKey.enterprise_id,
    ProviderKey.provider,
    ProviderKey.key_hint,
    ProviderKey.connected_by,
    ProviderKey.connected_at,
    ProviderKey.last_verified_at,
).order_by(ProviderKey.team_id, ProviderKey.provider)
_SHOWN_OF = _SHOWN_ALL.where(ProviderKey.team_id == bindparam("team"))


@dataclass(frozen=True)
class StoredKeyInfo:
    """What may be shown about a stored key (never the key itself)."""

    team_id: str
    enterprise_id: str
    provider: str
    key_hint: str
    connected_by: str
    connected_at: datetime
    last_verified_at: datetime | None


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _info(row: Any) -> StoredKeyInfo:
    """A row of :data:`_SHOWN` (or a ``ProviderKey``) as what may be shown."""
    return StoredKeyInfo(
        team_id=row.team_id,
        enterprise_id=row.enterprise_id,
        provider=row.provider,
        key_hint=row.key_hint,
        connected_by=row.connected_by,
        connected_at=_aware(row.connected_at) or row.connected_at,
        last_verified_at=_aware(row.last_verified_at),
    )


class KeyStore:
    def __init__(
        self, engine: AsyncEngine, keyring: KeyRing, *, reader: LoopWriter | None = None
    ) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._keyring = keyring
        #: SQLite: :meth:`get` (every provider call of every job asks) reads on the loop's
        #: thread instead of four hand-offs to aiosqlite's.
        self._reader = reader

    async def put(
        self,
        *,
        team_id: str,
        provider: str,
        api_key: SecretStr,
        connected_by: str,
        enterprise_id: str | None = None,
        verified: bool = True,
    ) -> StoredKeyInfo:
        """Store (or replace) the workspace's key for ``provider``."""
        now = utcnow()
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(ProviderKey)
                .where(
                    ProviderKey.enterprise_id == (enterprise_id or ""),
                    ProviderKey.team_id == team_id,
                    ProviderKey.provider == provider,
                )
                .with_for_update()
            )
            if row is None:
                row = ProviderKey(
                    enterprise_id=enterprise_id or "", team_id=team_id, provider=provider
                )
                session.add(row)
            row.encrypted_key = self._keyring.encrypt(api_key)
            row.key_hint = mask(api_key)
            row.connected_by = connected_by
            row.connected_at = now
            row.last_verified_at = now if verified else None
            await session.flush()
            return _info(row)

    async def get(
        self, *, team_id: str, provider: str, enterprise_id: str | None = None
    ) -> SecretStr | None:
        query = _KEY_OF
        params = {"ent": enterprise_id or "", "team": team_id, "provider": provider}
        if self._reader is not None:
            with contextlib.suppress(WriteLocked):  # (rare under WAL) read the usual way
                return self._decrypt(self._reader.try_read(lambda conn: conn.scalar(query, params)))
        async with self._sessions() as session:
            return self._decrypt(await session.scalar(query, params))

    def _decrypt(self, encrypted: str | None) -> SecretStr | None:
        return None if encrypted is None else self._keyring.decrypt(encrypted)

    async def list(self, *, team_id: str | None = None) -> list[StoredKeyInfo]:
        """What may be shown of the stored keys (of one workspace): a Core select of those
        columns, no ORM objects; on SQLite read on the loop's thread like :meth:`get` (every
        job that lists or picks a provider reads it)."""
        query, params = (_SHOWN_ALL, {}) if team_id is None else (_SHOWN_OF, {"team": team_id})
        if self._reader is not None:
            with contextlib.suppress(WriteLocked):
                rows = self._reader.try_read(lambda conn: conn.execute(query, params).all())
                return [_info(row) for row in rows]
        async with self._sessions() as session:
            return [_info(row) for row in (await session.execute(query, params)).all()]

    async def remove(
        self, *, team_id: str, provider: str | None = None, enterprise_id: str | None = None
    ) -> int:
        """Delete one provider's key, or every key of the workspace when ``provider`` is None."""
        query = delete(ProviderKey).where(
            ProviderKey.enterprise_id == (enterprise_id or ""), ProviderKey.team_id == team_id
        )
        if provider is not None:
            query = query.where(ProviderKey.provider == provider)
        async with self._sessions.begin() as session:
            result = await session.execute(query)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def mark_verified(
        self, *, team_id: str, provider: str, enterprise_id: str | None = None
    ) -> None:
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(ProviderKey).where(
                    ProviderKey.enterprise_id == (enterprise_id or ""),
                    ProviderKey.team_id == team_id,
                    ProviderKey.provider == provider,
                )
            )
            if row is not None:
                row.last_verified_at = utcnow()

    async def reencrypt_all(self) -> int:
        """Re-encrypt every stored key under the newest encryption key; returns the count."""
        count = 0
        async with self._sessions.begin() as session:
            for row in await session.scalars(select(ProviderKey).with_for_update()):
                row.encrypted_key = self._keyring.rotate(row.encrypted_key)
                count += 1
        return count
