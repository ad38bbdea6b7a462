"""``deploybot roles …``: grant, revoke and list roles from a terminal (locked-out recovery).

It writes to the database the bot uses (``DATABASE_URL``, else the SQLite file under
``DEPLOYBOT_DATA_DIR``: the same settings as ``deploybot run``/``serve``) and records each
change in the workspace's audit log with the actor ``cli``. Slack is not asked anything, so
the last-admin guard of the Slack commands does not apply here: this is the way back in.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys

from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings, get_settings
from bot.core.governance import subject
from bot.core.governance_replies import article
from bot.core.policy import Role
from bot.db.access import AccessStore
from bot.db.audit import AuditLog
from bot.db.engine import create_engine
from bot.db.migrate import upgrade_async
from bot.services.audit_trail import AuditTrail
from bot.services.deployments import Actor

CLI_ACTOR = "cli"
_TEAM = re.compile(r"^T[A-Z0-9]{2,}$")
_ENTERPRISE = re.compile(r"^E[A-Z0-9]{2,}$")


class UsageError(ValueError):
    """Arguments that can't name a workspace or a person; the message says what to type."""


def _check_workspace(args: argparse.Namespace) -> None:
    if not _TEAM.match(args.team_id):
        raise UsageError(f"{args.team_id!r} is not a Slack team id (T followed by letters/digits)")
    if args.enterprise is not None and not _ENTERPRISE.match(args.enterprise):
        raise UsageError(f"{args.enterprise!r} is not an Enterprise Grid id (E…)")


def _subject(value: str) -> tuple[str, str]:
    found = subject(value)
    if found is None:
        raise UsageError(
            f"{value!r} is not a Slack user id (U…/W…) or user group id (S…); find it in the "
            "person's Slack profile under ⋮ → Copy member ID"
        )
    return found


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    _check_workspace(args)
    url = settings.effective_database_url
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        access, audit = AccessStore(engine), AuditLog(engine)
        actor = Actor(team_id=args.team_id, user_id=CLI_ACTOR, enterprise_id=args.enterprise)
        if args.roles_command == "grant":
            return await _grant(access, audit, actor, args)
        if args.roles_command == "revoke":
            return await _revoke(access, audit, actor, args)
        return await _list(access, actor)
    finally:
        await engine.dispose()


async def _grant(
    access: AccessStore, audit: AuditLog, actor: Actor, args: argparse.Namespace
) -> int:
    kind, who = _subject(args.subject_id)
    role = Role(args.role)
    previous = await access.grant(
        actor.team_id,
        actor.enterprise_id,
        subject_type=kind,
        subject_id=who,
        role=role,
        granted_by=CLI_ACTOR,
    )
    params = {"role": role.value, "previous": previous and previous.value}
    await AuditTrail(audit).record(actor, "role.grant", "allow", "ok", target=who, params=params)
    was = f" (was {previous.value})" if previous is not None else ""
    print(f"made {kind} {who} {article(role.value)} {role.value} in {actor.team_id}{was}")
    return 0


async def _revoke(
    access: AccessStore, audit: AuditLog, actor: Actor, args: argparse.Namespace
) -> int:
    _, who = _subject(args.subject_id)
    removed = await access.revoke(actor.team_id, actor.enterprise_id, who)
    params = {"previous": removed and removed.value}
    result = "ok" if removed else "noop"
    await AuditTrail(audit).record(actor, "role.revoke", "allow", result, target=who, params=params)
    if removed is None:
        print(f"{who} had no role granted in {actor.team_id}; nothing changed")
        return 1
    print(f"revoked {who}'s {removed.value} role in {actor.team_id}")
    grants = await access.grants(actor.team_id, actor.enterprise_id)
    if not any(g.role is Role.ADMIN for g in grants):
        print(
            "note: no person or group holds an admin grant any more; only Slack workspace "
            "admins and owners without a grant of their own can manage roles",
        )
    return 0


async def _list(access: AccessStore, actor: Actor) -> int:
    policy = await access.policy(actor.team_id, actor.enterprise_id)
    for g in await access.grants(actor.team_id, actor.enterprise_id):
        stamp = g.granted_at.isoformat()
        print(f"{g.subject_type}\t{g.subject_id}\t{g.role.value}\tby {g.granted_by}\t{stamp}")
    print(
        f"everyone else: {policy.default_role.value} "
        "(Slack workspace admins and owners: admin unless granted otherwise)"
    )
    return 0


def run_roles_command(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args, get_settings().for_local_tools()))
    except UsageError as exc:
        print(f"deploybot: {exc}", file=sys.stderr)
        return 2
    except (SQLAlchemyError, OSError) as exc:
        print(f"deploybot: could not reach the database: {type(exc).__name__}", file=sys.stderr)
        return 1


__all__ = ["CLI_ACTOR", "run_roles_command"]
