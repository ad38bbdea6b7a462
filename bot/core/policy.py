"""Who may do what, where, and with whose approval. Pure: data in, a typed decision out.

Every entry point (slash command, button, modal, chain, approval click) asks
:func:`decide` about the operation it is about to run; :func:`can_approve` says whether a
click on "Approve" counts. Neither does I/O: the caller brings the person's role and user
groups, the channel and the workspace's :class:`WorkspacePolicy`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.core import fmt
from bot.core.registry import ADMIN_ONLY, Risk, classify


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]


_ROLE_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


CHANGES = (Risk.CHANGE, Risk.SPEND, Risk.DESTRUCTIVE)


class Effect(StrEnum):
    ALLOW = "allow"
    APPROVE = "approve"
    DENY = "deny"

    @property
    def rank(self) -> int:
        return {Effect.ALLOW: 0, Effect.APPROVE: 1, Effect.DENY: 2}[self]


#: The approver entry meaning "any deploybot admin of the workspace".
ADMINS = "admins"
MAX_QUORUM = 10
MAX_EXPIRY_MINUTES = 7 * 24 * 60


def is_user_id(value: str) -> bool:
    return len(value) >= 3 and value[0] in "UW" and value.isalnum() and value.isupper()


def is_group_id(value: str) -> bool:
    return len(value) >= 3 and value[0] == "S" and value.isalnum() and value.isupper()


def is_channel_id(value: str) -> bool:
    return len(value) >= 3 and value[0] in "CGD" and value.isalnum() and value.isupper()


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApprovalRule(_Frozen):
    """Who must approve: admins, named users (U…) and user groups (S…); how many; how long."""

    approvers: tuple[str, ...] = (ADMINS,)
    quorum: int = Field(default=1, ge=1, le=MAX_QUORUM)
    self_approval: bool = False
    expiry_minutes: int = Field(default=60, ge=1, le=MAX_EXPIRY_MINUTES)

    @field_validator("approvers")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one approver")
        for entry in value:
            if entry != ADMINS and not is_user_id(entry) and not is_group_id(entry):
                raise ValueError(f"{entry!r} is not admins, a user or a user group")
        return tuple(dict.fromkeys(value))


class Rule(_Frozen):
    """What happens to operations of a risk class, or to one operation, optionally per provider."""

    risk: Risk | None = None
    operation: str | None = None
    provider: str | None = None
    effect: Effect
    approval: ApprovalRule = ApprovalRule()

    @property
    def specificity(self) -> int:
        return (2 if self.operation else 0) + (1 if self.provider else 0)

    def matches(self, kind: str, risk: Risk, provider: str | None) -> bool:
        if self.operation is not None and self.operation != kind:
            return False
        if self.operation is None and self.risk is not None and self.risk is not risk:
            return False
        return self.provider is None or self.provider == provider

    def same_place(self, other: Rule) -> bool:
        return (self.risk, self.operation, self.provider) == (
            other.risk,
            other.operation,
            other.provider,
        )


class ChannelScope(_Frozen):
    """Operations of these risk classes on this provider's account run only from these channels."""

    provider: str
    channels: tuple[str, ...]
    risks: tuple[Risk, ...] = CHANGES


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(risk=Risk.READ, effect=Effect.ALLOW),
    Rule(risk=Risk.CHANGE, effect=Effect.ALLOW),
    Rule(risk=Risk.SPEND, effect=Effect.APPROVE),
    Rule(risk=Risk.DESTRUCTIVE, effect=Effect.APPROVE),
)


class WorkspacePolicy(BaseModel):
    """A workspace's settings: the default role, rule overrides and channel scopes."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    default_role: Role = Role.OPERATOR
    rules: tuple[Rule, ...] = ()
    scopes: tuple[ChannelScope, ...] = ()

    def effective_rules(self) -> tuple[Rule, ...]:
        """The defaults with this workspace's class-wide overrides in their place, then the rest."""
        overridden = [r for r in DEFAULT_RULES if not any(r.same_place(o) for o in self.rules)]
        return (*overridden, *self.rules)

    def with_rule(self, rule: Rule) -> WorkspacePolicy:
        rules = (*(r for r in self.rules if not r.same_place(rule)), rule)
        return self.model_copy(update={"rules": rules})

    def without_rules(
        self, risk: Risk | None, operation: str | None, provider: str | None
    ) -> WorkspacePolicy:
        probe = Rule(risk=risk, operation=operation, provider=provider, effect=Effect.ALLOW)
        return self.model_copy(
            update={"rules": tuple(r for r in self.rules if not r.same_place(probe))}
        )

    def with_scope(self, scope: ChannelScope | None, provider: str) -> WorkspacePolicy:
        scopes = tuple(s for s in self.scopes if s.provider != provider)
        return self.model_copy(update={"scopes": scopes + ((scope,) if scope else ())})


# -- the decision --------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One operation of a request, with its risk class."""

    kind: str
    risk: Risk


@dataclass(frozen=True)
class Request:
    """What is asked, by whom, from where."""

    user_id: str
    role: Role
    channel_id: str | None
    provider: str | None
    steps: tuple[Step, ...]
    #: Operations on accounts, roles and policy: only admins, never through approval.
    admin_only: bool = False
    what: str = "do that"

    @property
    def risk(self) -> Risk:
        return max((s.risk for s in self.steps), key=lambda r: r.rank, default=Risk.READ)


@dataclass(frozen=True)
class Allow:
    risk: Risk


@dataclass(frozen=True)
class NeedsApproval:
    risk: Risk
    rule: ApprovalRule


@dataclass(frozen=True)
class Deny:
    reason: str


Decision = Allow | NeedsApproval | Deny


def rule_for(policy: WorkspacePolicy, kind: str, risk: Risk, provider: str | None) -> Rule:
    """The most specific matching rule (operation beats class; a provider beats none)."""
    best: Rule | None = None
    for rule in policy.effective_rules():
        if rule.matches(kind, risk, provider) and (
            best is None or rule.specificity >= best.specificity
        ):
            best = rule
    assert best is not None, "the class-wide defaults match everything"
    return best


def decide(request: Request, policy: WorkspacePolicy) -> Decision:
    """allow | needs approval (approvers, quorum, expiry) | deny (reason)."""
    risk = request.risk
    if request.admin_only:
        if request.role is Role.ADMIN:
            return Allow(risk)
        return Deny(f"Only deploybot admins can {request.what}. Ask one of them (`/deploy roles`).")
    if risk is not Risk.READ and request.role is Role.VIEWER:
        return Deny(
            "You are a viewer here, so you can look but not change anything. "
            "An admin can make you an operator: `/deploy role grant @you operator`."
        )
    if request.provider is not None:
        for scope in policy.scopes:
            if scope.provider != request.provider:
                continue
            if not any(step.risk in scope.risks for step in request.steps):
                continue
            if request.channel_id not in scope.channels:
                where = ", ".join(f"<#{c}>" for c in scope.channels) or "no channel"
                covered = max(
                    (s.risk for s in request.steps if s.risk in scope.risks),
                    key=lambda r: r.rank,
                )
                return Deny(
                    f"In this workspace, {covered.value} operations on the {request.provider} "
                    f"account run only from {where}."
                )
    approvals: list[ApprovalRule] = []
    for step in request.steps:
        rule = rule_for(policy, step.kind, step.risk, request.provider)
        if rule.effect is Effect.DENY:
            what = f"`{step.kind}`" if rule.operation else f"{step.risk.value} operations"
            where = f" on {rule.provider}" if rule.provider else ""
            return Deny(f"This workspace's policy doesn't allow {what}{where}.")
        if rule.effect is Effect.APPROVE and rule.approval not in approvals:
            approvals.append(rule.approval)
    if not approvals:
        return Allow(risk)
    if len(approvals) > 1:
        # One approval for the whole chain must not be weaker than any step's own rule, and
        # different approver sets can't be merged into one that satisfies all of them.
        return Deny(
            "The steps of this chain need different approvals in this workspace's policy; "
            "run them as separate commands."
        )
    return NeedsApproval(risk=risk, rule=approvals[0])


# -- approving -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Approver:
    user_id: str
    role: Role
    groups: frozenset[str] = frozenset()


def approvers_text(rule: ApprovalRule) -> str:
    """``an admin``, ``<@U1> or <!subteam^S1>``, ``2 of: admins, <@U1>`` (mrkdwn)."""
    names = [_approver_name(a) for a in rule.approvers]
    if rule.quorum == 1:
        if names == ["admins"]:
            return "an admin"
        return " or ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"{rule.quorum} different people from: {', '.join(names)}"


def _approver_name(entry: str) -> str:
    if entry == ADMINS:
        return "admins"
    if is_group_id(entry):
        return f"<!subteam^{entry}>"
    return f"<@{entry}>"


def eligible(approver: Approver, rule: ApprovalRule) -> bool:
    if ADMINS in rule.approvers and approver.role is Role.ADMIN:
        return True
    if approver.user_id in rule.approvers:
        return True
    return any(group in rule.approvers for group in approver.groups)


def can_approve(approver: Approver, requester_id: str, rule: ApprovalRule) -> str | None:
    """None when this person's approval counts; otherwise why not (for an ephemeral note)."""
    if approver.user_id == requester_id and not rule.self_approval:
        return (
            "you asked for this, and this workspace doesn't count self-approval: "
            f"{approvers_text(rule)} must approve it."
        )
    if not eligible(approver, rule):
        return f"only {approvers_text(rule)} can approve this."
    return None


def quorum_met(voters: Iterable[str], requester_id: str, rule: ApprovalRule) -> bool:
    """Distinct people; the requester counts only when self-approval is on."""
    people = {v for v in voters if rule.self_approval or v != requester_id}
    return len(people) >= rule.quorum


# -- roles ---------------------------------------------------------------------------------


def effective_role(
    *,
    slack_admin: bool,
    user_grant: Role | None,
    group_grants: Sequence[Role],
    default: Role,
) -> Role:
    """An explicit grant to the person wins; else the best group grant; Slack admins and
    owners are admins by default; everyone else gets the workspace's default role."""
    if user_grant is not None:
        return user_grant
    candidates = list(group_grants)
    candidates.append(Role.ADMIN if slack_admin else default)
    return max(candidates, key=lambda r: r.rank)


# -- showing the policy --------------------------------------------------------------------


def _rule_line(rule: Rule) -> str:
    subject = f"`{rule.operation}`" if rule.operation else f"*{(rule.risk or Risk.READ).value}*"
    if rule.provider:
        subject += f" on {rule.provider}"
    match rule.effect:
        case Effect.ALLOW:
            verdict = "allowed"
        case Effect.DENY:
            verdict = "denied"
        case _:
            a = rule.approval
            verdict = f"needs approval by {approvers_text(a)}"
            verdict += ", self-approval counts" if a.self_approval else ", requester excluded"
            verdict += f", expires after {_minutes_text(a.expiry_minutes)}"
    return f"• {subject}: {verdict}"


def _minutes_text(minutes: int) -> str:
    return fmt.minutes(minutes)


RISK_EXAMPLES = {
    Risk.READ: "list, show, logs, balance",
    Risk.CHANGE: "rename, schedule, revise, rollback, scale down, timeout decrease",
    Risk.SPEND: "start, scale up, create, deposit, timeout increase, accept a bid",
    Risk.DESTRUCTIVE: "stop, archive, delete, close, scale to 0",
}


def describe(policy: WorkspacePolicy) -> list[str]:
    """The policy as lines of mrkdwn, most general first."""
    lines = [f"*Default role* for people without a grant: {policy.default_role.value}"]
    lines.append("*Rules*")
    rules = sorted(
        policy.effective_rules(),
        key=lambda r: (r.specificity, (r.risk or Risk.READ).rank, r.operation or ""),
    )
    for rule in rules:
        line = _rule_line(rule)
        if rule.specificity == 0 and rule.risk is not None:
            line += f"  _({RISK_EXAMPLES[rule.risk]})_"
        lines.append(line)
    if policy.scopes:
        lines.append("*Channel scopes*")
        for scope in policy.scopes:
            where = ", ".join(f"<#{c}>" for c in scope.channels)
            risks = ", ".join(r.value for r in scope.risks)
            lines.append(f"• {scope.provider} ({risks}): only from {where}")
    return lines


__all__ = [
    "ADMINS",
    "ADMIN_ONLY",
    "Allow",
    "ApprovalRule",
    "Approver",
    "ChannelScope",
    "Decision",
    "Deny",
    "Effect",
    "NeedsApproval",
    "Request",
    "Risk",
    "Role",
    "Rule",
    "Step",
    "WorkspacePolicy",
    "approvers_text",
    "can_approve",
    "classify",
    "decide",
    "describe",
    "effective_role",
    "quorum_met",
]
