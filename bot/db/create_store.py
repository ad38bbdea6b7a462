"""Rows of the create flow: requests (one per submitted form), templates, certificates.

Every state change of a request is a conditional ``UPDATE … WHERE state IN (…)``: the caller
learns whether *it* moved the row, so a create or a lease runs once however many replicas
(or Slack retries) race for it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.crypto import KeyRing
from bot.db.models import CreateRequest, CreateTemplate, ProviderCertificate, utcnow

#: States in which nothing more will happen to a request.
FINAL_STATES = frozenset({"created", "leased", "failed", "no_bids", "closed"})


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True)
class RequestRow:
    id: str
    submission_key: str
    team_id: str
    enterprise_id: str
    user_id: str
    channel_id: str | None
    provider: str
    state: str
    form: dict[str, str]
    spec: dict[str, Any]
    estimate: dict[str, Any]
    deployment_id: str | None
    result: dict[str, Any]
    bids: list[dict[str, Any]]
    accepted_bid: str | None
    message_channel: str | None
    message_ts: str | None
    error: str | None
    bid_deadline: datetime | None
    created_at: datetime


def _row(row: CreateRequest, keyring: KeyRing) -> RequestRow:
    return RequestRow(
        id=row.id,
        submission_key=row.submission_key,
        team_id=row.team_id,
        enterprise_id=row.enterprise_id,
        user_id=row.user_id,
        channel_id=row.channel_id,
        provider=row.provider,
        state=row.state,
        form=_open(keyring, row.form),
        spec=_open(keyring, row.spec),
        estimate=json.loads(row.estimate) if row.estimate else {},
        deployment_id=row.deployment_id,
        result=_open(keyring, row.result) if row.result else {},
        bids=json.loads(row.bids) if row.bids else [],
        accepted_bid=row.accepted_bid,
        message_channel=row.message_channel,
        message_ts=row.message_ts,
        error=row.error,
        bid_deadline=_aware(row.bid_deadline),
        created_at=_aware(row.created_at) or row.created_at,
    )


@dataclass(frozen=True)
class TemplateRow:
    name: str
    provider: str
    form: dict[str, str]
    created_by: str
    created_at: datetime


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def _seal(keyring: KeyRing, value: Any) -> str:
    """Forms and specs can hold secrets (env values such as tokens): encrypted at rest."""
    return keyring.encrypt(SecretStr(_dumps(value)))


def _open(keyring: KeyRing, token: str) -> Any:
    return json.loads(keyring.decrypt(token).get_secret_value())


class CreateStore:
    def __init__(self, engine: AsyncEngine, keyring: KeyRing) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._keyring = keyring

    # -- requests ------------------------------------------------------------------------------

    async def put_draft(
        self,
        *,
        submission_key: str,
        team_id: str,
        enterprise_id: str | None,
        user_id: str,
        channel_id: str | None,
        provider: str,
        form: dict[str, str],
        spec: dict[str, Any],
        estimate: dict[str, Any],
    ) -> RequestRow:
        """The draft for this submission: created once; a repeat returns the same row
        (refreshed while it is still a draft)."""
        values = {
            "form": _seal(self._keyring, form),
            "spec": _seal(self._keyring, spec),
            "estimate": _dumps(estimate),
            "provider": provider,
            "channel_id": channel_id,
            "updated_at": utcnow(),
        }
        async with self._sessions.begin() as session:
            existing = await session.scalar(
                select(CreateRequest).where(CreateRequest.submission_key == submission_key)
            )
            if existing is not None and existing.state == "draft":
                for key, value in values.items():
                    setattr(existing, key, value)
                return _row(existing, self._keyring)
        if existing is not None:
            # That submission was already confirmed: this is a new form reusing the view (the
            # confirmed request is untouched; a draft spends nothing).
            submission_key = f"{submission_key[:150]}#{uuid.uuid4().hex[:12]}"
        row = CreateRequest(
            id=str(uuid.uuid4()),
            submission_key=submission_key,
            team_id=team_id,
            enterprise_id=enterprise_id or "",
            user_id=user_id,
            state="draft",
            created_at=utcnow(),
            **values,
        )
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:  # the same submission raced us: its row wins
            found = await self.by_key(submission_key)
            assert found is not None
            return found
        return _row(row, self._keyring)

    async def get(self, request_id: str) -> RequestRow | None:
        async with self._sessions() as session:
            row = await session.get(CreateRequest, request_id)
        return None if row is None else _row(row, self._keyring)

    async def by_key(self, submission_key: str) -> RequestRow | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(CreateRequest).where(CreateRequest.submission_key == submission_key)
            )
        return None if row is None else _row(row, self._keyring)

    async def transition(
        self, request_id: str, from_states: Iterable[str], to_state: str, **fields: Any
    ) -> bool:
        """Move the request to ``to_state`` if it is in one of ``from_states``; True if it did."""
        values = {"state": to_state, "updated_at": utcnow(), **self._encode(fields)}
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(CreateRequest)
                .where(CreateRequest.id == request_id, CreateRequest.state.in_(list(from_states)))
                .values(**values)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set(self, request_id: str, **fields: Any) -> None:
        """Record facts (bids, the message ts …) without changing the state."""
        values = {"updated_at": utcnow(), **self._encode(fields)}
        async with self._sessions.begin() as session:
            await session.execute(
                update(CreateRequest).where(CreateRequest.id == request_id).values(**values)
            )

    async def claim_message(self, request_id: str, channel: str, ts: str) -> bool:
        """Remember the status message, unless another replica posted one first."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(CreateRequest)
                .where(CreateRequest.id == request_id, CreateRequest.message_ts.is_(None))
                .values(message_channel=channel, message_ts=ts, updated_at=utcnow())
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def by_deployment(
        self, team_id: str, enterprise_id: str | None, provider: str, deployment_id: str
    ) -> RequestRow | None:
        """The workspace's request that created ``deployment_id`` (the newest, if several)."""
        async with self._sessions() as session:
            row = await session.scalar(
                select(CreateRequest)
                .where(
                    CreateRequest.team_id == team_id,
                    CreateRequest.enterprise_id == (enterprise_id or ""),
                    CreateRequest.provider == provider,
                    CreateRequest.deployment_id == deployment_id,
                )
                .order_by(CreateRequest.created_at.desc())
                .limit(1)
            )
            return _row(row, self._keyring) if row is not None else None

    async def in_states(self, states: Iterable[str]) -> list[RequestRow]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(CreateRequest)
                .where(CreateRequest.state.in_(list(states)))
                .order_by(CreateRequest.created_at)
                .limit(500)
            )
            return [_row(r, self._keyring) for r in rows]

    async def stale(self, states: Iterable[str], before: datetime) -> list[RequestRow]:
        """Requests in ``states`` not touched since ``before`` (interrupted work)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(CreateRequest)
                .where(CreateRequest.state.in_(list(states)), CreateRequest.updated_at < before)
                .limit(500)
            )
            return [_row(r, self._keyring) for r in rows]

    async def purge_drafts(self, before: datetime) -> int:
        """Forget drafts nobody confirmed (they never spent anything)."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(CreateRequest).where(
                    CreateRequest.state == "draft", CreateRequest.updated_at < before
                )
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def forget_workspace(self, team_id: str, enterprise_id: str | None) -> None:
        async with self._sessions.begin() as session:
            for model in (CreateRequest, CreateTemplate, ProviderCertificate):
                await session.execute(
                    delete(model).where(
                        model.team_id == team_id, model.enterprise_id == (enterprise_id or "")
                    )
                )

    def _encode(self, fields: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in fields.items():
            if value is not None and key in ("spec", "form", "result"):
                out[key] = _seal(self._keyring, value)
            elif value is not None and key in ("bids", "estimate"):
                out[key] = _dumps(value)
            else:
                out[key] = value
        return out

    # -- templates -----------------------------------------------------------------------------

    async def save_template(
        self,
        *,
        team_id: str,
        enterprise_id: str | None,
        name: str,
        provider: str,
        form: dict[str, str],
        created_by: str,
    ) -> bool:
        """Save (or replace) a template; True when it replaced an existing one."""
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(CreateTemplate).where(
                    CreateTemplate.enterprise_id == (enterprise_id or ""),
                    CreateTemplate.team_id == team_id,
                    CreateTemplate.name == name,
                )
            )
            replaced = row is not None
            if row is None:
                row = CreateTemplate(enterprise_id=enterprise_id or "", team_id=team_id, name=name)
                session.add(row)
            row.provider = provider
            row.form = _seal(self._keyring, form)
            row.created_by = created_by
            row.created_at = utcnow()
        return replaced

    async def template(
        self, *, team_id: str, enterprise_id: str | None, name: str
    ) -> TemplateRow | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(CreateTemplate).where(
                    CreateTemplate.enterprise_id == (enterprise_id or ""),
                    CreateTemplate.team_id == team_id,
                    CreateTemplate.name == name,
                )
            )
        return None if row is None else self._template(row)

    async def templates(self, *, team_id: str, enterprise_id: str | None) -> list[TemplateRow]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(CreateTemplate)
                .where(
                    CreateTemplate.enterprise_id == (enterprise_id or ""),
                    CreateTemplate.team_id == team_id,
                )
                .order_by(CreateTemplate.name)
            )
            return [self._template(r) for r in rows]

    async def delete_template(self, *, team_id: str, enterprise_id: str | None, name: str) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(CreateTemplate).where(
                    CreateTemplate.enterprise_id == (enterprise_id or ""),
                    CreateTemplate.team_id == team_id,
                    CreateTemplate.name == name,
                )
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def _template(self, row: CreateTemplate) -> TemplateRow:
        return TemplateRow(
            name=row.name,
            provider=row.provider,
            form=_open(self._keyring, row.form),
            created_by=row.created_by,
            created_at=_aware(row.created_at) or row.created_at,
        )

    async def reencrypt_all(self) -> int:
        """Re-encrypt every sealed column under the newest key; the number of rows."""
        count = 0
        async with self._sessions.begin() as session:
            for request in await session.scalars(select(CreateRequest).with_for_update()):
                request.form = self._keyring.rotate(request.form)
                request.spec = self._keyring.rotate(request.spec)
                if request.result:
                    request.result = self._keyring.rotate(request.result)
                count += 1
            for template in await session.scalars(select(CreateTemplate).with_for_update()):
                template.form = self._keyring.rotate(template.form)
                count += 1
            for cert in await session.scalars(select(ProviderCertificate).with_for_update()):
                cert.encrypted = self._keyring.rotate(cert.encrypted)
                count += 1
        return count

    # -- certificates (secrets: encrypted with the key ring) -----------------------------------

    async def certificate(
        self, *, team_id: str, enterprise_id: str | None, provider: str
    ) -> dict[str, str] | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(ProviderCertificate).where(
                    ProviderCertificate.enterprise_id == (enterprise_id or ""),
                    ProviderCertificate.team_id == team_id,
                    ProviderCertificate.provider == provider,
                )
            )
        if row is None:
            return None
        data = json.loads(self._keyring.decrypt(row.encrypted).get_secret_value())
        return data if isinstance(data, dict) else None

    async def put_certificate(
        self, *, team_id: str, enterprise_id: str | None, provider: str, data: dict[str, str]
    ) -> None:
        encrypted = self._keyring.encrypt(SecretStr(json.dumps(data)))
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(ProviderCertificate).where(
                    ProviderCertificate.enterprise_id == (enterprise_id or ""),
                    ProviderCertificate.team_id == team_id,
                    ProviderCertificate.provider == provider,
                )
            )
            if row is None:
                row = ProviderCertificate(
                    enterprise_id=enterprise_id or "", team_id=team_id, provider=provider
                )
                session.add(row)
            row.encrypted = encrypted
            row.created_at = utcnow()


__all__ = ["FINAL_STATES", "CreateStore", "RequestRow", "TemplateRow"]
