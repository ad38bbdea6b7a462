"""Parsers of the governance verbs (role, roles, policy, audit, approvals).

The sub-commands themselves are parsed by :mod:`bot.core.governance`; this turns its errors into
usage problems and the result into an :class:`Operation`.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.core.arguments import args_for
from bot.core.governance import GovernanceError, parse_audit, parse_policy, parse_role
from bot.core.operations import Operation, OpKind
from bot.core.parsing.problem import Problem, needs, too_many
from bot.providers.models import ProviderName


def p_governance(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    try:
        match verb:
            case OpKind.ROLE | OpKind.ROLES:
                command = parse_role(args, listing=verb is OpKind.ROLES)
            case OpKind.POLICY:
                command = parse_policy(args)  # type: ignore[assignment]
            case _:
                command = parse_audit(args)  # type: ignore[assignment]
    except GovernanceError as exc:
        raise Problem(exc.message, topic=exc.topic) from None
    if provider is not None:
        raise Problem(f"`--provider` doesn't go with `{verb.value}`.", topic=verb.value)
    return Operation(args=args_for(verb, command=command))


_REQUEST_ID = re.compile(r"^[0-9a-f]{6,32}$")


def p_decide(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    """``approve <id>``, ``deny <id> [reason …]``, ``cancel <id>`` (ids: `/deploy approvals`)."""
    shape = "<request id>" + (" [reason]" if verb is OpKind.DENY else "")
    needs(verb, args, 1, shape)
    if verb is not OpKind.DENY:
        too_many(verb, args, 1, shape)
    request_id = args[0].strip("`").lower()
    if not _REQUEST_ID.match(request_id):
        raise Problem(
            f"“{args[0][:40]}” is not a request id: `/deploy approvals` lists them.",
            topic=verb.value,
        )
    note = " ".join(args[1:]).strip()[:500] or None
    return Operation(args=args_for(verb, request_id=request_id, note=note))


def p_approvals(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    """``approvals`` or ``approvals page N``."""
    if args and args[0].lower() == "page":
        too_many(verb, args, 2, "[page N]")
        number = args[1] if len(args) > 1 else ""
        if not (number.isascii() and number.isdecimal() and int(number) >= 1):
            raise Problem(
                "“page” takes a page number: `/deploy approvals page 2`.", topic=verb.value
            )
        return Operation(args=args_for(verb, page=int(number)))
    too_many(verb, args, 0, "[page N]")
    return Operation(args=args_for(verb))
