"""Who can still manage roles: the last-admin guard. Pure: facts in, a verdict out.

A workspace is locked when nobody is a deploybot admin: nobody can grant roles or change the
policy from Slack again. :func:`refusal` says whether a grant, a revoke or a default-role
change would lock it, with the same precedence as :func:`bot.core.policy.effective_role`:

* an explicit grant to a person wins over everything else;
* else the best grant to a user group they belong to (a group counts through its members);
* Slack workspace admins and owners are admins by default;
* everyone else has the workspace's default role (an ``admin`` default makes everyone without
  an explicit grant an admin).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.core import fmt
from bot.core.policy import Role

SubjectType = Literal["user", "usergroup"]


@dataclass(frozen=True)
class RoleHolder:
    """One explicit grant: a person (``U…``) or a user group (``S…``) and its role."""

    subject_type: SubjectType
    subject_id: str
    role: Role
    granted_by: str = ""


@dataclass(frozen=True)
class RoleFacts:
    """Everything that makes someone an admin in one workspace."""

    grants: tuple[RoleHolder, ...]
    default_role: Role
    #: Slack workspace admins and owners (people, not bots).
    slack_admins: frozenset[str] = frozenset()
    #: Members of the user groups named in ``grants`` (a group not here has no known member).
    group_members: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class GrantRole:
    subject_type: SubjectType
    subject_id: str
    role: Role


@dataclass(frozen=True)
class RevokeRole:
    subject_id: str


@dataclass(frozen=True)
class SetDefaultRole:
    role: Role


RoleChange = GrantRole | RevokeRole | SetDefaultRole

#: What to do instead, in every refusal.
INSTEAD = "make someone else an admin first (`/deploy role grant @someone admin`), then try again"


def apply(facts: RoleFacts, change: RoleChange) -> RoleFacts:
    """The facts after ``change`` (grants are unique per subject, as in the database)."""
    match change:
        case SetDefaultRole(role=role):
            return RoleFacts(facts.grants, role, facts.slack_admins, facts.group_members)
        case GrantRole():
            kept = tuple(g for g in facts.grants if g.subject_id != change.subject_id)
            added = RoleHolder(change.subject_type, change.subject_id, change.role)
            return RoleFacts(
                (*kept, added), facts.default_role, facts.slack_admins, facts.group_members
            )
        case RevokeRole(subject_id=subject_id):
            kept = tuple(g for g in facts.grants if g.subject_id != subject_id)
            return RoleFacts(kept, facts.default_role, facts.slack_admins, facts.group_members)


def known_admins(facts: RoleFacts) -> frozenset[str]:
    """The people known to be admins (from grants, group members and Slack's admins)."""
    personal = {g.subject_id: g.role for g in facts.grants if g.subject_type == "user"}
    explicit = {user for user, role in personal.items() if role is Role.ADMIN}
    through_groups: set[str] = set()
    for g in facts.grants:
        if g.subject_type == "usergroup" and g.role is Role.ADMIN:
            through_groups |= facts.group_members.get(g.subject_id, frozenset())
    implicit = (through_groups | facts.slack_admins) - personal.keys()
    return frozenset(explicit | implicit)


def has_admin(facts: RoleFacts) -> bool:
    """Someone can manage roles: a known admin, or everyone without a grant (admin default)."""
    return facts.default_role is Role.ADMIN or bool(known_admins(facts))


def refusal(facts: RoleFacts, change: RoleChange) -> str | None:
    """None when ``change`` leaves someone who can manage roles; else one line saying why not
    and what to do instead."""
    after = apply(facts, change)
    if has_admin(after):
        return None
    if isinstance(change, SetDefaultRole):
        return (
            f"With {change.role.value} as the default role nobody would be an admin any more, "
            f"so nobody could manage roles: {INSTEAD}."
        )
    if _names_group(facts, change):
        return (
            f"{_mention('usergroup', change.subject_id)} holds the last admin grant; without it "
            f"nobody could manage roles: {INSTEAD}."
        )
    lost = sorted(known_admins(facts))
    who = _people(lost) or _mention("user", change.subject_id)
    verb = "are" if len(lost) > 1 else "is"
    return f"{who} {verb} the last admin here; after this nobody could manage roles: {INSTEAD}."


def _names_group(facts: RoleFacts, change: GrantRole | RevokeRole) -> bool:
    if isinstance(change, GrantRole):
        return change.subject_type == "usergroup"
    held = next((g for g in facts.grants if g.subject_id == change.subject_id), None)
    return held is not None and held.subject_type == "usergroup"


def _mention(subject_type: SubjectType, subject_id: str) -> str:
    return fmt.mention(subject_type, subject_id)


def _people(ids: Sequence[str]) -> str:
    mentions = [f"<@{i}>" for i in ids[:5]]
    if len(ids) > 5:
        mentions.append(f"{len(ids) - 5} more")
    if len(mentions) <= 1:
        return "".join(mentions)
    return ", ".join(mentions[:-1]) + " and " + mentions[-1]


__all__ = [
    "INSTEAD",
    "GrantRole",
    "RevokeRole",
    "RoleChange",
    "RoleFacts",
    "RoleHolder",
    "SetDefaultRole",
    "apply",
    "has_admin",
    "known_admins",
    "refusal",
]
