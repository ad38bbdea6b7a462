"""Role grants and workspace policies (read on every operation: several replicas share them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.core.policy import Role, WorkspacePolicy
from bot.db.models import RoleGrant, WorkspacePolicyRow


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Grant:
    subject_type: str
    subject_id: str
    role: Role
    granted_by: str
    granted_at: datetime


class AccessStore:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = _now) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.clock = clock

    # -- policy --------------------------------------------------------------------------------

    async def policy(self, team_id: str, enterprise_id: str | None = None) -> WorkspacePolicy:
        async with self._sessions() as session:
            row = await session.scalar(
                select(WorkspacePolicyRow).where(
                    WorkspacePolicyRow.enterprise_id == (enterprise_id or ""),
                    WorkspacePolicyRow.team_id == team_id,
                )
            )
        if row is None:
            return WorkspacePolicy()
        try:
            return WorkspacePolicy.model_validate_json(row.document)
        except ValidationError:
            # A document written by a newer version with fields we can't read: the safe
            # reading is the default policy (approvals for spend and destructive).
            return WorkspacePolicy()

    async def save_policy(
        self,
        team_id: str,
        enterprise_id: str | None,
        policy: WorkspacePolicy,
        *,
        updated_by: str,
    ) -> None:
        document = policy.model_dump_json()
        ent = enterprise_id or ""
        for _ in range(3):
            async with self._sessions() as session:
                row = await session.scalar(
                    select(WorkspacePolicyRow).where(
                        WorkspacePolicyRow.enterprise_id == ent,
                        WorkspacePolicyRow.team_id == team_id,
                    )
                )
                if row is None:
                    session.add(
                        WorkspacePolicyRow(
                            enterprise_id=ent,
                            team_id=team_id,
                            document=document,
                            updated_by=updated_by,
                            updated_at=self.clock(),
                        )
                    )
                else:
                    row.document = document
                    row.updated_by = updated_by
                    row.updated_at = self.clock()
                try:
                    await session.commit()
                    return
                except IntegrityError:
                    await session.rollback()  # another replica inserted first: update it
        raise RuntimeError("could not save the policy")

    # -- roles ---------------------------------------------------------------------------------

    async def grants(self, team_id: str, enterprise_id: str | None = None) -> list[Grant]:
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(RoleGrant)
                    .where(
                        RoleGrant.enterprise_id == (enterprise_id or ""),
                        RoleGrant.team_id == team_id,
                    )
                    .order_by(RoleGrant.role.desc(), RoleGrant.subject_id)
                )
            ).all()
        return [
            Grant(
                r.subject_type,
                r.subject_id,
                Role(r.role),
                r.granted_by,
                r.granted_at if r.granted_at.tzinfo else r.granted_at.replace(tzinfo=UTC),
            )
            for r in rows
        ]

    async def grant(
        self,
        team_id: str,
        enterprise_id: str | None,
        *,
        subject_type: str,
        subject_id: str,
        role: Role,
        granted_by: str,
    ) -> Role | None:
        """Give ``role``; returns the role it replaces (None when there was no grant)."""
        ent = enterprise_id or ""
        for _ in range(3):
            async with self._sessions() as session:
                row = await session.scalar(
                    select(RoleGrant).where(
                        RoleGrant.enterprise_id == ent,
                        RoleGrant.team_id == team_id,
                        RoleGrant.subject_id == subject_id,
                    )
                )
                previous = Role(row.role) if row is not None else None
                if row is None:
                    session.add(
                        RoleGrant(
                            enterprise_id=ent,
                            team_id=team_id,
                            subject_type=subject_type,
                            subject_id=subject_id,
                            role=role.value,
                            granted_by=granted_by,
                            granted_at=self.clock(),
                        )
                    )
                else:
                    row.role = role.value
                    row.granted_by = granted_by
                    row.granted_at = self.clock()
                try:
                    await session.commit()
                    return previous
                except IntegrityError:
                    await session.rollback()
        raise RuntimeError("could not save the grant")

    async def revoke(self, team_id: str, enterprise_id: str | None, subject_id: str) -> Role | None:
        """Remove a grant; returns the role it had (None when there was none)."""
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(RoleGrant).where(
                    RoleGrant.enterprise_id == (enterprise_id or ""),
                    RoleGrant.team_id == team_id,
                    RoleGrant.subject_id == subject_id,
                )
            )
            if row is None:
                return None
            await session.delete(row)
            return Role(row.role)

    async def forget_workspace(self, team_id: str, enterprise_id: str | None) -> None:
        """The app was uninstalled: roles and policy go with it (the audit log stays)."""
        ent = enterprise_id or ""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(RoleGrant).where(
                    RoleGrant.enterprise_id == ent, RoleGrant.team_id == team_id
                )
            )
            await session.execute(
                delete(WorkspacePolicyRow).where(
                    WorkspacePolicyRow.enterprise_id == ent, WorkspacePolicyRow.team_id == team_id
                )
            )


__all__ = ["AccessStore", "Grant"]
