"""``/deploy role …``, ``/deploy policy …``, ``/deploy audit …``: words → typed commands.

Pure. Slack sends people, groups and channels as ``<@U123|ana>``, ``<!subteam^S123|@ops>`` and
``<#C123|ops>`` (the command is registered with ``should_escape``); bare ids work too (the
local shell).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.core.policy import (
    ADMINS,
    CHANGES,
    MAX_EXPIRY_MINUTES,
    MAX_QUORUM,
    ApprovalRule,
    ChannelScope,
    Effect,
    Risk,
    Role,
    Rule,
    is_channel_id,
    is_group_id,
    is_user_id,
)
from bot.core.registry import RULE_OPERATIONS
from bot.providers.models import PROVIDER_NAMES

_USER = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_GROUP = re.compile(r"^<!subteam\^(S[A-Z0-9]{2,})(?:\|[^>]*)?>$")
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_DURATION = re.compile(r"^(\d{1,6})\s*(m|min|mins|h|hr|hrs|d|day|days)?$", re.I)


class GovernanceError(ValueError):
    """Words that don't make a command; the message says what to write instead."""

    def __init__(self, message: str, topic: str) -> None:
        super().__init__(message)
        self.message = message
        self.topic = topic


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class RoleCommand(_Frozen):
    action: Literal["grant", "revoke", "list"]
    subject_type: Literal["user", "usergroup"] | None = None
    subject_id: str | None = None
    role: Role | None = None


class PolicyCommand(_Frozen):
    action: Literal["show", "set", "reset", "channels", "default-role"]
    rule: Rule | None = None
    risk: Risk | None = None
    operation: str | None = None
    provider: str | None = None
    scope: ChannelScope | None = None
    role: Role | None = None


class AuditCommand(_Frozen):
    action: Literal["show", "export", "verify"]
    #: Entries per page.
    limit: int = 10
    #: Which page (newest first), from 1.
    page: int = 1
    user_id: str | None = None
    #: A deployment id, the start of one, or a deployment's name.
    target: str | None = None
    format: Literal["csv", "json"] = "csv"


Command = RoleCommand | PolicyCommand | AuditCommand

ROLE_USAGE = (
    "Usage: /deploy role grant @person|@group viewer|operator|admin · "
    "/deploy role revoke @person|@group · /deploy roles"
)
POLICY_USAGE = (
    "Usage: /deploy policy · /deploy policy <read|change|spend|destructive|operation> "
    "allow|deny|approve [by admins @person @group] [quorum N] [self] [expires 2h] "
    "[on <provider>] · /deploy policy reset [<class|operation>] [on <provider>] · "
    "/deploy policy channels <provider> #channel … [for spend,destructive] | any · "
    "/deploy policy default-role viewer|operator"
)
AUDIT_USAGE = (
    "Usage: /deploy audit [N] [@person] [deployment] [page P] · "
    "/deploy audit export [csv|json] · /deploy audit verify"
)


def subject(token: str) -> tuple[Literal["user", "usergroup"], str] | None:
    """A person or a user group, from Slack's escaped form or a bare id."""
    if m := _USER.match(token):
        return "user", m.group(1)
    if m := _GROUP.match(token):
        return "usergroup", m.group(1)
    bare = token.lstrip("@")
    if is_user_id(bare):
        return "user", bare
    if is_group_id(bare):
        return "usergroup", bare
    return None


def channel(token: str) -> str | None:
    if m := _CHANNEL.match(token):
        return m.group(1)
    bare = token.lstrip("#")
    return bare if is_channel_id(bare) else None


def _role(token: str, topic: str) -> Role:
    try:
        return Role(token.lower())
    except ValueError:
        raise GovernanceError(
            f"“{token[:30]}” is not a role: use viewer, operator or admin.", topic
        ) from None


def _who(token: str, topic: str, usage: str) -> tuple[Literal["user", "usergroup"], str]:
    found = subject(token)
    if found is None:
        raise GovernanceError(
            f"“{token[:40]}” is not a person or a user group: mention them (@ana, @ops-team). "
            + usage,
            topic,
        )
    return found


def parse_role(args: list[str], *, listing: bool = False) -> RoleCommand:
    if listing:
        if args:
            raise GovernanceError(f"`/deploy roles` takes nothing more. {ROLE_USAGE}", "role")
        return RoleCommand(action="list")
    if not args:
        return RoleCommand(action="list")
    action = args[0].lower()
    if action in ("list", "show"):
        return RoleCommand(action="list")
    if action == "grant":
        if len(args) != 3:
            raise GovernanceError(ROLE_USAGE, "role")
        kind, who = _who(args[1], "role", ROLE_USAGE)
        return RoleCommand(
            action="grant", subject_type=kind, subject_id=who, role=_role(args[2], "role")
        )
    if action in ("revoke", "remove"):
        if len(args) != 2:
            raise GovernanceError(ROLE_USAGE, "role")
        kind, who = _who(args[1], "role", ROLE_USAGE)
        return RoleCommand(action="revoke", subject_type=kind, subject_id=who)
    raise GovernanceError(f"I don't know `role {action[:20]}`. {ROLE_USAGE}", "role")


def _minutes(token: str) -> int:
    m = _DURATION.match(token.strip())
    if not m:
        raise GovernanceError(
            f"The expiry must look like 30m, 2h or 1d, not “{token[:20]}”.", "policy"
        )
    amount, unit = int(m.group(1)), (m.group(2) or "m").lower()[:1]
    minutes = amount * {"m": 1, "h": 60, "d": 1440}[unit]
    if not 1 <= minutes <= MAX_EXPIRY_MINUTES:
        raise GovernanceError("The expiry must be between 1 minute and 7 days.", "policy")
    return minutes


def _subject_of_rule(token: str) -> tuple[Risk | None, str | None]:
    word = token.lower()
    try:
        return Risk(word), None
    except ValueError:
        pass
    if word in RULE_OPERATIONS:
        return None, word
    classes = ", ".join(r.value for r in Risk)
    raise GovernanceError(
        f"“{token[:30]}” is neither a risk class ({classes}) nor an operation "
        f"({', '.join(sorted(RULE_OPERATIONS))}).",
        "policy",
    )


def _provider(token: str) -> str:
    word = token.lower()
    if word not in PROVIDER_NAMES:
        raise GovernanceError(
            f"Unknown provider “{token[:20]}”: use nosana, akash or neuranet.", "policy"
        )
    return word


def _pop_on(args: list[str]) -> str | None:
    for i, token in enumerate(args):
        if token.lower() == "on" and i + 1 < len(args):
            provider = _provider(args[i + 1])
            del args[i : i + 2]
            return provider
    return None


def parse_policy(args: list[str]) -> PolicyCommand:
    if not args or args[0].lower() in ("show", "list"):
        if len(args) > 1:
            raise GovernanceError(POLICY_USAGE, "policy")
        return PolicyCommand(action="show")
    head, rest = args[0].lower(), list(args[1:])
    if head in ("default-role", "default"):
        if len(rest) != 1:
            raise GovernanceError(POLICY_USAGE, "policy")
        role = _role(rest[0], "policy")
        if role is Role.ADMIN:
            raise GovernanceError(
                "The default role can be viewer or operator; make admins one by one "
                "(`/deploy role grant @ana admin`).",
                "policy",
            )
        return PolicyCommand(action="default-role", role=role)
    if head == "channels":
        return _parse_channels(rest)
    if head == "reset":
        provider = _pop_on(rest)
        if not rest:
            return PolicyCommand(action="reset", provider=provider)
        if len(rest) != 1:
            raise GovernanceError(POLICY_USAGE, "policy")
        risk, operation = _subject_of_rule(rest[0])
        return PolicyCommand(action="reset", risk=risk, operation=operation, provider=provider)
    risk, operation = _subject_of_rule(head)
    provider = _pop_on(rest)
    if not rest:
        raise GovernanceError(f"Say allow, approve or deny. {POLICY_USAGE}", "policy")
    try:
        effect = Effect(rest[0].lower())
    except ValueError:
        raise GovernanceError(
            f"“{rest[0][:20]}” is not allow, approve or deny. {POLICY_USAGE}", "policy"
        ) from None
    rule_args = rest[1:]
    if effect is not Effect.APPROVE and rule_args:
        raise GovernanceError(
            f"Approvers, quorum and expiry only go with `approve` (not {effect.value}).", "policy"
        )
    approval = _approval(rule_args) if effect is Effect.APPROVE else ApprovalRule()
    if risk is Risk.READ and effect is not Effect.ALLOW:
        raise GovernanceError(
            "Reads can't need approval or be denied by a rule; make people viewers or limit "
            "channels instead.",
            "policy",
        )
    rule = Rule(risk=risk, operation=operation, provider=provider, effect=effect, approval=approval)
    return PolicyCommand(action="set", rule=rule)


def _quorum(after: list[str]) -> int:
    """The number after ``quorum`` (``after`` holds it, or nothing at the end of the text)."""
    if not after or not (after[0].isascii() and after[0].isdecimal()):
        raise GovernanceError("`quorum` needs a number (quorum 2).", "policy")
    quorum = int(after[0])
    if not 1 <= quorum <= MAX_QUORUM:
        raise GovernanceError(f"The quorum must be between 1 and {MAX_QUORUM}.", "policy")
    return quorum


def _approvers_in(token: str) -> list[str]:
    """``admins``, people and user groups named in one word (``@ana,@ops`` works too)."""
    found: list[str] = []
    for part in filter(None, token.split(",")):
        if part.lower() in (ADMINS, "admin"):
            found.append(ADMINS)
        else:
            found.append(_who(part, "policy", POLICY_USAGE)[1])
    return found


def _approval(args: list[str]) -> ApprovalRule:
    approvers: list[str] = []
    quorum, self_ok, expiry = 1, False, 60
    i = 0
    mode = ""
    while i < len(args):
        token, word = args[i], args[i].lower()
        if word == ",":
            pass
        elif word in ("by", "approvers"):
            mode = "by"
        elif word == "quorum":
            quorum = _quorum(args[i + 1 : i + 2])
            i += 1
            mode = ""
        elif word in ("self", "self-approval"):
            self_ok, mode = True, ""
        elif word in ("expires", "expiry", "expire"):
            if i + 1 >= len(args):
                raise GovernanceError("`expires` needs a duration (expires 2h).", "policy")
            expiry = _minutes(args[i + 1])
            i += 1
            mode = ""
        elif mode == "by":
            approvers.extend(_approvers_in(token))
        else:
            raise GovernanceError(f"Unexpected “{token[:30]}”. {POLICY_USAGE}", "policy")
        i += 1
    named = list(dict.fromkeys(approvers or [ADMINS]))
    if ADMINS not in named and not any(is_group_id(a) for a in named) and quorum > len(named):
        raise GovernanceError(
            f"A quorum of {quorum} needs at least {quorum} approvers; only {len(named)} "
            "named (add people, a group or admins).",
            "policy",
        )
    try:
        return ApprovalRule(
            approvers=tuple(named), quorum=quorum, self_approval=self_ok, expiry_minutes=expiry
        )
    except ValidationError as exc:
        raise GovernanceError(
            f"Those approvers don't work: {exc.errors()[0]['msg']}. {POLICY_USAGE}", "policy"
        ) from None


def _parse_channels(args: list[str]) -> PolicyCommand:
    if not args:
        raise GovernanceError(POLICY_USAGE, "policy")
    provider = _provider(args[0])
    rest = args[1:]
    if len(rest) == 1 and rest[0].lower() in ("any", "all", "clear", "none"):
        return PolicyCommand(action="channels", provider=provider, scope=None)
    risks: tuple[Risk, ...] = CHANGES
    if "for" in [t.lower() for t in rest]:
        at = [t.lower() for t in rest].index("for")
        names = ",".join(rest[at + 1 :]).replace(" ", "")
        rest = rest[:at]
        picked: list[Risk] = []
        for name in filter(None, names.split(",")):
            if name.lower() in ("all", "everything"):
                picked.extend(Risk)
                continue
            try:
                picked.append(Risk(name.lower()))
            except ValueError:
                raise GovernanceError(
                    f"“{name[:20]}” is not a risk class: read, change, spend or destructive.",
                    "policy",
                ) from None
        if not picked:
            raise GovernanceError(
                "Name the risk classes after `for` (for spend,destructive).", "policy"
            )
        risks = tuple(dict.fromkeys(picked))
    channels: list[str] = []
    for token in rest:
        if token == ",":
            continue
        found = channel(token)
        if found is None:
            raise GovernanceError(f"“{token[:30]}” is not a channel: mention it (#ops).", "policy")
        channels.append(found)
    if not channels:
        raise GovernanceError(
            f"Name the channels: /deploy policy channels {provider} #ops, or `any` to lift "
            "the limit.",
            "policy",
        )
    scope = ChannelScope(provider=provider, channels=tuple(dict.fromkeys(channels)), risks=risks)
    return PolicyCommand(action="channels", provider=provider, scope=scope)


def parse_audit(args: list[str]) -> AuditCommand:
    if args and args[0].lower() == "export":
        fmt = (args[1].lower() if len(args) > 1 else "csv").lstrip("-")
        if fmt not in ("csv", "json") or len(args) > 2:
            raise GovernanceError(AUDIT_USAGE, "audit")
        return AuditCommand(action="export", format=fmt)  # type: ignore[arg-type]
    if args and args[0].lower() == "verify":
        if len(args) > 1:
            raise GovernanceError(AUDIT_USAGE, "audit")
        return AuditCommand(action="verify")
    limit, page, user, target = 10, 1, None, None
    tokens = iter(args)
    for token in tokens:
        if token.lower() == "page":
            number = next(tokens, "")
            if not (number.isascii() and number.isdecimal() and int(number) >= 1):
                raise GovernanceError(f"“page” takes a page number. {AUDIT_USAGE}", "audit")
            page = int(number)
            continue
        if token.isascii() and token.isdecimal():
            limit = int(token)
            if not 1 <= limit <= 50:
                raise GovernanceError("Show between 1 and 50 entries.", "audit")
            continue
        found = subject(token) if token.startswith("<@") or token.startswith("@") else None
        if found is not None and found[0] == "user":
            user = found[1]
            continue
        if token.startswith("<") or token.startswith("@"):
            raise GovernanceError(f"“{token[:30]}” is not a person. {AUDIT_USAGE}", "audit")
        if target is not None:
            raise GovernanceError(f"Name one deployment. {AUDIT_USAGE}", "audit")
        target = token[:200]
    return AuditCommand(action="show", limit=limit, page=page, user_id=user, target=target)


__all__ = [
    "AuditCommand",
    "Command",
    "GovernanceError",
    "PolicyCommand",
    "RoleCommand",
    "channel",
    "parse_audit",
    "parse_policy",
    "parse_role",
    "subject",
]
