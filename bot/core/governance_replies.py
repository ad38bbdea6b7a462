"""What ``/deploy roles``, ``/deploy role …`` and ``/deploy policy …`` answer. Pure rendering."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core import fmt
from bot.core.policy import Role, WorkspacePolicy, describe
from bot.core.replies import Reply, notice, section
from bot.core.roles import RoleHolder, SubjectType


def article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def mention(subject_type: SubjectType, subject_id: str) -> str:
    return fmt.mention(subject_type, subject_id)


def roles_listing(me: Role, grants: Sequence[RoleHolder], default: Role) -> Reply:
    lines = [f"*Roles* · you are {article(me.value)} {me.value}"]
    for g in grants:
        lines.append(
            f"• {mention(g.subject_type, g.subject_id)}: {g.role.value} (by <@{g.granted_by}>)"
        )
    if not grants:
        lines.append("• No roles granted yet.")
    lines.append(
        f"Everyone else: {default.value}; Slack workspace admins and owners "
        "are admins unless granted otherwise."
    )
    text = "\n".join(lines)
    return Reply(text=text, blocks=[section(text)])


def role_granted(
    actor_id: str, subject_type: SubjectType, subject_id: str, role: Role, previous: Role | None
) -> Reply:
    was = f" (was {previous.value})" if previous and previous is not role else ""
    who = mention(subject_type, subject_id)
    return notice(
        f":bust_in_silhouette: <@{actor_id}> made {who} {article(role.value)} {role.value}{was}.",
        public=True,
    )


def role_revoked(
    actor_id: str, subject_type: SubjectType, subject_id: str, removed: Role | None, default: Role
) -> Reply:
    who = mention(subject_type, subject_id)
    if removed is None:
        return notice(f"{who} had no role granted; nothing changed.")
    return notice(
        f":bust_in_silhouette: <@{actor_id}> revoked {who}'s {removed.value} role; "
        f"they are back to the default ({default.value}, or admin for Slack admins).",
        public=True,
    )


def policy_shown(policy: WorkspacePolicy) -> Reply:
    lines = [":scroll: *Policy*", *describe(policy)]
    lines.append(
        "_Admins change it with `/deploy policy <class|operation> allow|approve|deny …`; "
        "`/deploy help policy` shows how._"
    )
    text = "\n".join(lines)
    return Reply(text=text, blocks=[section(text)])


def policy_changed(actor_id: str, policy: WorkspacePolicy) -> Reply:
    text = "\n".join([f":scroll: <@{actor_id}> changed the policy. It is now:", *describe(policy)])
    return Reply(text=text, blocks=[section(text)], public=True)


__all__ = [
    "article",
    "mention",
    "policy_changed",
    "policy_shown",
    "role_granted",
    "role_revoked",
    "roles_listing",
]


@dataclass(frozen=True)
class RoleListing:
    me: Role
    grants: list[RoleHolder]
    default: Role


@dataclass(frozen=True)
class RoleGranted:
    by: str
    subject_type: SubjectType
    subject_id: str
    role: Role
    previous: Role | None


@dataclass(frozen=True)
class RoleRevoked:
    by: str
    subject_type: SubjectType
    subject_id: str
    removed: Role | None
    default: Role


@dataclass(frozen=True)
class PolicyShown:
    policy: WorkspacePolicy


@dataclass(frozen=True)
class PolicyChanged:
    by: str
    policy: WorkspacePolicy


GovernanceResult = RoleListing | RoleGranted | RoleRevoked | PolicyShown | PolicyChanged


def render(result: GovernanceResult) -> Reply:
    """What a roles or policy command answers."""
    match result:
        case RoleListing(me=me, grants=grants, default=default):
            return roles_listing(me, grants, default)
        case RoleGranted(by=by, subject_type=kind, subject_id=who, role=role, previous=was):
            return role_granted(by, kind, who, role, was)
        case RoleRevoked(by=by, subject_type=kind, subject_id=who, removed=gone, default=default):
            return role_revoked(by, kind, who, gone, default)
        case PolicyShown(policy=policy):
            return policy_shown(policy)
        case PolicyChanged(by=by, policy=policy):
            return policy_changed(by, policy)
