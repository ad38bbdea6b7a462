"""``/deploy audit``: show recent entries, verify the hash chain, export the whole log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from bot.core import audit_replies as view
from bot.core.governance import AuditCommand
from bot.db.audit import AuditLog, AuditRow, VerifyReport
from bot.services.audit_trail import AuditTrail
from bot.services.deployments import Actor
from bot.services.errors import ServiceError
from bot.services.people import People
from bot.services.slack_io import SlackIO

log = logging.getLogger("deploybot.audit")


def _now() -> datetime:
    return datetime.now(UTC)


class AuditService:
    def __init__(
        self,
        audit: AuditLog,
        people: People,
        trail: AuditTrail,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._audit = audit
        self._people = people
        self._trail = trail
        self._clock = clock

    async def run(self, actor: Actor, command: AuditCommand, slack: SlackIO) -> view.AuditResult:
        match command.action:
            case "show":
                return view.AuditListing(await self.recent(actor, command))
            case "verify":
                report = await self.verify(actor, slack)
                broken = str(report.broken[0]) if report.broken else None
                return view.Verified(report.entries, broken)
        done = await self.export(actor, command, slack)
        if not done.uploaded:
            raise ServiceError(view.UPLOAD_REFUSED)
        return done

    async def recent(self, actor: Actor, command: AuditCommand) -> list[AuditRow]:
        """Anyone may read the log (newest first), filtered by person and deployment."""
        return await self._audit.recent(
            team_id=actor.team_id,
            enterprise_id=actor.enterprise_id,
            limit=command.limit,
            user_id=command.user_id,
            target=command.target,
        )

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
