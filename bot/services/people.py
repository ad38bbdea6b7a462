"""Who someone is in a workspace (their effective role and the user groups that matter) and
what the workspace's policy decides about what they ask for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.operations import Operation
from bot.core.policy import (
    Decision,
    Deny,
    Request,
    Risk,
    Role,
    Step,
    WorkspacePolicy,
    decide,
    effective_role,
)
from bot.db.access import AccessStore, Grant
from bot.services.audit_trail import AuditTrail
from bot.services.deployments import Actor
from bot.services.errors import NotPermittedError
from bot.services.slack_io import SlackIO


@dataclass(frozen=True)
class Person:
    role: Role
    groups: frozenset[str]


class People:
    def __init__(self, access: AccessStore, audit: AuditTrail) -> None:
        self.access = access
        self.audit = audit

    async def person(
        self,
        actor: Actor,
        slack: SlackIO,
        policy: WorkspacePolicy,
        grants: Sequence[Grant] | None = None,
        extra_groups: set[str] | None = None,
    ) -> Person:
        if grants is None:
            grants = await self.access.grants(actor.team_id, actor.enterprise_id)
        user_grant = next(
            (g.role for g in grants if g.subject_type == "user" and g.subject_id == actor.user_id),
            None,
        )
        candidates = {g.subject_id for g in grants if g.subject_type == "usergroup"}
        candidates |= extra_groups or set()
        groups = await slack.groups_of(actor.user_id, candidates) if candidates else frozenset()
        group_grants = [
            g.role for g in grants if g.subject_type == "usergroup" and g.subject_id in groups
        ]
        slack_admin = False if user_grant is not None else await slack.is_slack_admin(actor.user_id)
        role = effective_role(
            slack_admin=slack_admin,
            user_grant=user_grant,
            group_grants=group_grants,
            default=policy.default_role,
        )
        return Person(role, groups)

    async def authorize(self, actor: Actor, kind: str, slack: SlackIO, *, what: str) -> None:
        """Admin-only operations (connecting keys, roles, policy, exports): raise unless admin."""
        policy = await self.access.policy(actor.team_id, actor.enterprise_id)
        person = await self.person(actor, slack, policy)
        decision = decide(
            Request(
                user_id=actor.user_id,
                role=person.role,
                channel_id=actor.channel_id,
                provider=None,
                steps=(Step(kind, Risk.CHANGE),),
                admin_only=True,
                what=what,
            ),
            policy,
        )
        if isinstance(decision, Deny):
            await self.audit.record(actor, kind, "deny", "refused", detail=decision.reason)
            raise NotPermittedError(decision.reason, mrkdwn=True)

    async def check_read(self, actor: Actor, op: Operation) -> None:
        if op.provider is None:  # reads across providers: channel scopes name one provider
            return
        policy = await self.access.policy(actor.team_id, actor.enterprise_id)
        if not policy.scopes:
            return
        decision = decide(
            Request(
                user_id=actor.user_id,
                role=Role.VIEWER,
                channel_id=actor.channel_id,
                provider=op.provider,
                steps=(Step(op.kind.value, Risk.READ),),
            ),
            policy,
        )
        if isinstance(decision, Deny):
            raise NotPermittedError(decision.reason, mrkdwn=True)

    async def decide(
        self, actor: Actor, slack: SlackIO, provider: str, steps: tuple[Step, ...]
    ) -> Decision:
        policy = await self.access.policy(actor.team_id, actor.enterprise_id)
        person = await self.person(actor, slack, policy)
        return decide(
            Request(
                user_id=actor.user_id,
                role=person.role,
                channel_id=actor.channel_id,
                provider=provider,
                steps=steps,
            ),
            policy,
        )
