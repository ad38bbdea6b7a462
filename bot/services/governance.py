"""``/deploy roles``, ``/deploy role grant|revoke``, ``/deploy policy …``: who may do what.

Every grant, revoke and default-role change passes the last-admin guard
(:func:`bot.core.roles.refusal`) first, and is checked again after it is written: two admins
demoting themselves at the same moment on two replicas both pass the first check, and the
second check puts back whichever change left the workspace without an admin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core import governance_replies as view
from bot.core.governance import PolicyCommand, RoleCommand
from bot.core.policy import WorkspacePolicy
from bot.core.roles import (
    INSTEAD,
    GrantRole,
    RevokeRole,
    RoleChange,
    RoleFacts,
    RoleHolder,
    SetDefaultRole,
    has_admin,
    refusal,
)
from bot.db.access import AccessStore, Grant
from bot.services.audit_trail import AuditTrail
from bot.services.deployments import Actor
from bot.services.errors import NotPermittedError, ServiceError
from bot.services.people import People
from bot.services.slack_io import SlackIO

MORE_WORDS = "That command needs more words: `/deploy help`."
LOCKED = (
    "This and another role change made at the same moment would together have left nobody "
    f"who can manage roles, so nothing changed: {INSTEAD}."
)


def holders(grants: Sequence[Grant]) -> list[RoleHolder]:
    return [
        RoleHolder(
            "usergroup" if g.subject_type == "usergroup" else "user",
            g.subject_id,
            g.role,
            g.granted_by,
        )
        for g in grants
    ]


class GovernanceService:
    def __init__(self, access: AccessStore, people: People, trail: AuditTrail) -> None:
        self._access = access
        self._people = people
        self._trail = trail

    async def run(
        self, actor: Actor, command: RoleCommand | PolicyCommand | None, slack: SlackIO
    ) -> view.GovernanceResult:
        if isinstance(command, RoleCommand):
            match command.action:
                case "list":
                    return await self.roles(actor, slack)
                case "grant":
                    return await self.grant(actor, command, slack)
            return await self.revoke(actor, command, slack)
        if isinstance(command, PolicyCommand):
            if command.action == "show":
                return view.PolicyShown(await self.policy(actor))
            return view.PolicyChanged(
                actor.user_id, await self.change_policy(actor, command, slack)
            )
        raise ServiceError(MORE_WORDS)

    # -- roles -------------------------------------------------------------------------------

    async def roles(self, actor: Actor, slack: SlackIO) -> view.RoleListing:
        policy = await self._access.policy(actor.team_id, actor.enterprise_id)
        grants = await self._access.grants(actor.team_id, actor.enterprise_id)
        me = (await self._people.person(actor, slack, policy, grants)).role
        return view.RoleListing(me, holders(grants), policy.default_role)

    async def grant(self, actor: Actor, command: RoleCommand, slack: SlackIO) -> view.RoleGranted:
        await self._people.authorize(actor, "role.grant", slack, what="change roles")
        assert command.subject_id is not None and command.subject_type is not None
        assert command.role is not None
        change = GrantRole(command.subject_type, command.subject_id, command.role)
        await self._guard(actor, slack, "role.grant", change)
        held = await self._held(actor, change.subject_id)
        previous = await self._access.grant(
            actor.team_id,
            actor.enterprise_id,
            subject_type=change.subject_type,
            subject_id=change.subject_id,
            role=change.role,
            granted_by=actor.user_id,
        )
        if not await self._still_governed(actor, slack):
            await self._restore(actor, change.subject_id, held)
            await self._recheck(actor, slack, "role.grant", change)
        await self._trail.record(
            actor,
            "role.grant",
            "allow",
            "ok",
            target=change.subject_id,
            params={"role": change.role.value, "previous": previous and previous.value},
        )
        return view.RoleGranted(
            actor.user_id, change.subject_type, change.subject_id, change.role, previous
        )

    async def revoke(self, actor: Actor, command: RoleCommand, slack: SlackIO) -> view.RoleRevoked:
        await self._people.authorize(actor, "role.revoke", slack, what="change roles")
        assert command.subject_id is not None and command.subject_type is not None
        change = RevokeRole(command.subject_id)
        await self._guard(actor, slack, "role.revoke", change)
        held = await self._held(actor, change.subject_id)
        removed = await self._access.revoke(actor.team_id, actor.enterprise_id, change.subject_id)
        if removed is not None and not await self._still_governed(actor, slack):
            await self._restore(actor, change.subject_id, held)
            await self._recheck(actor, slack, "role.revoke", change)
        await self._trail.record(
            actor,
            "role.revoke",
            "allow",
            "ok" if removed else "noop",
            target=change.subject_id,
            params={"previous": removed and removed.value},
        )
        policy = await self.policy(actor)
        return view.RoleRevoked(
            actor.user_id, command.subject_type, change.subject_id, removed, policy.default_role
        )

    async def _held(self, actor: Actor, subject_id: str) -> Grant | None:
        grants = await self._access.grants(actor.team_id, actor.enterprise_id)
        return next((g for g in grants if g.subject_id == subject_id), None)

    async def _restore(self, actor: Actor, subject_id: str, held: Grant | None) -> None:
        """Put a subject's grant back as it was (none, or its role and grantor)."""
        if held is None:
            await self._access.revoke(actor.team_id, actor.enterprise_id, subject_id)
            return
        await self._access.grant(
            actor.team_id,
            actor.enterprise_id,
            subject_type=held.subject_type,
            subject_id=subject_id,
            role=held.role,
            granted_by=held.granted_by,
        )

    # -- the last-admin guard ----------------------------------------------------------------

    async def facts(self, actor: Actor, slack: SlackIO) -> RoleFacts:
        """Grants, default role, Slack's admins and the admin groups' members, read now."""
        policy = await self._access.policy(actor.team_id, actor.enterprise_id)
        grants = holders(await self._access.grants(actor.team_id, actor.enterprise_id))
        admins = set(await slack.slack_admins())
        if await slack.is_slack_admin(actor.user_id):  # users.info and users.list may differ
            admins.add(actor.user_id)
        groups = {g.subject_id for g in grants if g.subject_type == "usergroup"}
        members = {group: await slack.group_members(group) for group in sorted(groups)}
        return RoleFacts(tuple(grants), policy.default_role, frozenset(admins), members)

    async def _guard(self, actor: Actor, slack: SlackIO, action: str, change: RoleChange) -> None:
        """Refuse ``change`` when it would leave nobody who can manage roles."""
        reason = refusal(await self.facts(actor, slack), change)
        if reason is not None:
            await self._refuse(actor, action, change, reason)

    async def _refuse(self, actor: Actor, action: str, change: RoleChange, reason: str) -> None:
        target = None if isinstance(change, SetDefaultRole) else change.subject_id
        await self._trail.record(actor, action, "deny", "refused", target=target, detail=reason)
        raise NotPermittedError(reason, mrkdwn=True)

    async def _recheck(self, actor: Actor, slack: SlackIO, action: str, change: RoleChange) -> None:
        """After an undo: refuse with the guard's words for the facts as they are again."""
        reason = refusal(await self.facts(actor, slack), change) or LOCKED
        await self._refuse(actor, action, change, reason)

    async def _still_governed(self, actor: Actor, slack: SlackIO) -> bool:
        return has_admin(await self.facts(actor, slack))

    # -- policy ------------------------------------------------------------------------------

    async def policy(self, actor: Actor) -> WorkspacePolicy:
        return await self._access.policy(actor.team_id, actor.enterprise_id)

    async def change_policy(
        self, actor: Actor, command: PolicyCommand, slack: SlackIO
    ) -> WorkspacePolicy:
        await self._people.authorize(actor, "policy", slack, what="change the policy")
        policy = await self.policy(actor)
        if command.action == "default-role":
            assert command.role is not None
            await self._guard(actor, slack, "policy.default-role", SetDefaultRole(command.role))
        updated, params = changed_policy(policy, command)
        await self._save(actor, updated)
        if command.action == "default-role" and not await self._still_governed(actor, slack):
            now = await self.policy(actor)
            await self._save(actor, now.model_copy(update={"default_role": policy.default_role}))
            assert command.role is not None
            await self._recheck(actor, slack, "policy.default-role", SetDefaultRole(command.role))
        await self._trail.record(actor, f"policy.{command.action}", "allow", "ok", params=params)
        return updated

    async def _save(self, actor: Actor, policy: WorkspacePolicy) -> None:
        await self._access.save_policy(
            actor.team_id, actor.enterprise_id, policy, updated_by=actor.user_id
        )


def changed_policy(
    policy: WorkspacePolicy, command: PolicyCommand
) -> tuple[WorkspacePolicy, dict[str, Any]]:
    """The policy after ``command`` and what to record about the change."""
    match command.action:
        case "set":
            assert command.rule is not None
            return policy.with_rule(command.rule), command.rule.model_dump(mode="json")
        case "reset":
            params = {
                "reset": command.risk or command.operation or "all",
                "provider": command.provider,
            }
            if command.risk is None and command.operation is None and command.provider is None:
                return WorkspacePolicy(default_role=policy.default_role), params
            return policy.without_rules(command.risk, command.operation, command.provider), params
        case "channels":
            assert command.provider is not None
            scope = command.scope.model_dump(mode="json") if command.scope else None
            return (
                policy.with_scope(command.scope, command.provider),
                {"provider": command.provider, "scope": scope},
            )
        case _:
            assert command.role is not None
            return (
                policy.model_copy(update={"default_role": command.role}),
                {"default_role": command.role.value},
            )


__all__ = ["GovernanceService", "changed_policy"]
