"""``/deploy audit``: show recent entries, verify the hash chain, export the whole log."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.core import audit_replies as view
from bot.core.governance import AuditCommand
from bot.core.paging import page_of
from bot.db.audit import AuditLog, VerifyReport
from bot.services.audit_trail import AuditTrail
from bot.services.deployments import Actor
from bot.services.errors import ServiceError
from bot.services.people import People
from bot.services.slack_io import SlackIO

log = logging.getLogger("deploybot.audit")


def _now() -> datetime:
    return datetime.now(UTC)


#: The ids of the deployments a name means (the audit log keeps ids; people remember names).
IdsNamed = Callable[[Actor, str], Awaitable[list[str]]]


async def _no_names(actor: Actor, name: str) -> list[str]:
    return []


class AuditService:
    def __init__(
        self,
        audit: AuditLog,
        people: People,
        trail: AuditTrail,
        *,
        clock: Callable[[], datetime] = _now,
        ids_named: IdsNamed = _no_names,
    ) -> None:
        self._audit = audit
        self._people = people
        self._trail = trail
        self._clock = clock
        self._ids_named = ids_named

    async def run(self, actor: Actor, command: AuditCommand, slack: SlackIO) -> view.AuditResult:
        match command.action:
            case "show":
                return await self.listing(actor, command)
            case "verify":
                report = await self.verify(actor, slack)
                broken = str(report.broken[0]) if report.broken else None
                return view.Verified(report.entries, broken)
        done = await self.export(actor, command, slack)
        if not done.uploaded:
            raise ServiceError(view.UPLOAD_REFUSED)
        return done

    async def listing(self, actor: Actor, command: AuditCommand) -> view.AuditListing:
        """One page of the log, newest first (anyone may read it), filtered by person and
        deployment: an id, the start of one, or a deployment's name."""
        targets = await self._ids_named(actor, command.target) if command.target else []
        total = await self._audit.count(
            team_id=actor.team_id,
            enterprise_id=actor.enterprise_id,
            user_id=command.user_id,
            target=command.target,
            targets=targets,
        )
        page = page_of(total, command.limit, command.page)
        rows = await self._audit.recent(
            team_id=actor.team_id,
            enterprise_id=actor.enterprise_id,
            user_id=command.user_id,
            target=command.target,
            targets=targets,
            limit=page.size,
            offset=page.offset,
        )
        return view.AuditListing(rows, page, command)

    async def verify(self, actor: Actor, slack: SlackIO) -> VerifyReport:
        await self._people.authorize(actor, "audit.verify", slack, what="verify the audit log")
        return await self._audit.verify(team_id=actor.team_id, enterprise_id=actor.enterprise_id)

    async def export(self, actor: Actor, command: AuditCommand, slack: SlackIO) -> view.Exported:
        """Upload the whole log as a file where the command was typed (admins only)."""
        await self._people.authorize(actor, "audit.export", slack, what="export the audit log")
        rows = await self._audit.export(team_id=actor.team_id, enterprise_id=actor.enterprise_id)
        filename = view.export_filename(actor.team_id, self._clock(), command.format)
        uploaded = await slack.upload(
            actor.channel_id or actor.user_id,
            filename=filename,
            content=view.export_content(rows, command.format),
            title=view.export_title(len(rows)),
            comment=view.export_comment(actor.user_id, len(rows)),
        )
        await self._trail.record(
            actor,
            "audit.export",
            "allow",
            "ok" if uploaded else "error",
            params={"format": command.format, "entries": len(rows)},
        )
        return view.Exported(filename, len(rows), uploaded)


__all__ = ["AuditService"]
