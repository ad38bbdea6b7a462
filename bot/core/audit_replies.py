"""What ``/deploy audit …`` answers, and the export file's content. Pure rendering."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.core.approvals import when
from bot.core.governance import AuditCommand
from bot.core.paging import Page, line_sections, page_of
from bot.core.render import MESSAGE_TEXT_BUDGET, PROVIDER_LABEL, clip, escape
from bot.core.replies import Reply, context, error, notice

ExportFormat = Literal["csv", "json"]


class AuditEntry(Protocol):
    """One row of the audit log, as the database gives it back."""

    @property
    def seq(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def user_id(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def provider(self) -> str | None: ...
    @property
    def target(self) -> str | None: ...
    @property
    def params(self) -> dict[str, Any]: ...
    @property
    def decision(self) -> str: ...
    @property
    def approvers(self) -> list[str]: ...
    @property
    def result(self) -> str: ...

    def as_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Room:
    """How much of a row's free text it shows: target, recorded arguments, reason."""

    target: int
    args: int
    reason: int


#: A row as it is usually shown; a page too long for one Slack message (about 12k characters
#: of blocks) shows every row more briefly instead — rows are never cut or dropped.
ROOMY = Room(target=48, args=160, reason=120)
BRIEF = Room(target=12, args=40, reason=30)


def words(value: Any) -> str:
    """Recorded arguments as words: ``replicas: 3, minutes: 120``; a chain's steps as
    ``scale (replicas: 3); timeout (minutes: 120)``. Not escaped."""
    if isinstance(value, dict):
        if set(value) >= {"op"}:  # a chain's step
            rest = {k: v for k, v in value.items() if k != "op"}
            return str(value["op"]) + (f" ({words(rest)})" if rest else "")
        return ", ".join(f"{k.replace('_', ' ')}: {words(v)}" for k, v in sorted(value.items()))
    if isinstance(value, list | tuple):
        return "; ".join(words(v) for v in value) or "none"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return " ".join(str(value).split())


def _line(row: AuditEntry, room: Room = ROOMY) -> str:
    what = row.action
    if row.target:
        what += f" `{escape(clip(row.target, room.target))}`"
    if row.provider:
        what += f" on {PROVIDER_LABEL.get(row.provider, escape(row.provider))}"
    extras = {k: v for k, v in row.params.items() if k != "reason"}
    detail = f" ({escape(clip(words(extras), room.args))})" if extras else ""
    outcome = f"{escape(row.decision)} → {escape(row.result)}"
    if row.approvers:
        outcome += " (approved by " + ", ".join(f"<@{a}>" for a in row.approvers) + ")"
    reason = row.params.get("reason")
    said = f" — “{escape(clip(words(reason), room.reason))}”" if reason else ""
    stamp = when(row.created_at)
    return f"#{row.seq} {stamp} <@{row.user_id}>: {what}{detail} · {outcome}{said}"


def audit_command(command: AuditCommand | None, page: int) -> str:
    """The command that shows ``page`` of the same listing."""
    parts = ["/deploy audit"]
    if command is not None:
        parts.append(str(command.limit))
        if command.user_id:
            parts.append(f"<@{command.user_id}>")
        if command.target:
            parts.append(escape(command.target))
    parts.append(f"page {page}")
    return " ".join(parts)


def audit_listing(
    rows: Sequence[AuditEntry], page: Page | None = None, command: AuditCommand | None = None
) -> Reply:
    """One page of the log: whole rows (never cut), and where the other pages are."""
    page = page or page_of(len(rows), max(1, len(rows)))
    if not page.exists:
        return notice(page.past_the_end("entries"))
    if not rows:
        return Reply(text="No audit entries match.")
    if page.single:
        head = f"*Audit log* · newest first ({len(rows)})"
    else:
        head = f"*Audit log* · newest first · {page.showing()}"
    lines = [head, *(_line(row) for row in rows)]
    if sum(len(line) + 1 for line in lines) > MESSAGE_TEXT_BUDGET:
        lines = [head, *(_line(row, BRIEF) for row in rows)]
    blocks = line_sections(lines)
    turns = []
    if page.has_next:
        turns.append(f"older: `{audit_command(command, page.number + 1)}`")
    if page.has_previous:
        turns.append(f"newer: `{audit_command(command, page.number - 1)}`")
    if turns:
        where = f"Page {page.number} of {page.pages} · " + " · ".join(turns)
        blocks.append(context(where))
        lines.append(where)
    return Reply(text="\n".join(lines), blocks=blocks)


def verified(entries: int, first_broken: str | None) -> Reply:
    if first_broken is None:
        return notice(f":white_check_mark: The audit log is intact ({entries} entries).")
    return error(f":rotating_light: The audit log is broken: {first_broken}.")


EXPORT_FIELDS = [
    "seq",
    "time",
    "team_id",
    "enterprise_id",
    "user_id",
    "channel_id",
    "action",
    "provider",
    "target",
    "params",
    "decision",
    "approvers",
    "result",
    "detail",
    "provider_ref",
    "request_id",
]


def export_content(rows: Sequence[AuditEntry], fmt: ExportFormat) -> bytes:
    """The whole log as a JSON array or a CSV file (formula-looking cells quoted)."""
    if fmt == "json":
        return json.dumps([r.as_dict() for r in rows], indent=2).encode()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for row in rows:
        data = row.as_dict()
        data["params"] = json.dumps(data["params"], sort_keys=True)
        data["approvers"] = " ".join(data["approvers"])
        writer.writerow({k: csv_safe(data[k]) for k in EXPORT_FIELDS})
    return out.getvalue().encode()


def csv_safe(value: Any) -> Any:
    """Spreadsheets run cells starting with = + - @ as formulas: quote them."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_filename(team_id: str, at: datetime, fmt: ExportFormat) -> str:
    return f"deploybot-audit-{team_id}-{at.strftime('%Y%m%d-%H%M%S')}.{fmt}"


def export_title(entries: int) -> str:
    return f"deploybot audit log ({entries} entries)"


def export_comment(actor_id: str, entries: int) -> str:
    return f"<@{actor_id}> exported the audit log ({entries} entries)."


def exported(filename: str, entries: int) -> Reply:
    return notice(f":page_facing_up: Uploaded {filename} ({entries} entries).")


UPLOAD_REFUSED = (
    "Slack refused the file upload. Invite deploybot to this channel "
    "(`/invite @deploybot`) or run the export in a DM with it."
)


__all__ = [
    "EXPORT_FIELDS",
    "UPLOAD_REFUSED",
    "AuditEntry",
    "ExportFormat",
    "audit_listing",
    "csv_safe",
    "export_comment",
    "export_content",
    "export_filename",
    "export_title",
    "exported",
    "verified",
]


@dataclass(frozen=True)
class AuditListing:
    rows: Sequence[AuditEntry]
    page: Page | None = None
    command: AuditCommand | None = None


@dataclass(frozen=True)
class Verified:
    entries: int
    first_broken: str | None


@dataclass(frozen=True)
class Exported:
    filename: str
    entries: int
    uploaded: bool


AuditResult = AuditListing | Verified | Exported


def render(result: AuditResult) -> Reply:
    """What an audit command answers."""
    match result:
        case AuditListing(rows=rows, page=page, command=command):
            return audit_listing(rows, page, command)
        case Verified(entries=entries, first_broken=broken):
            return verified(entries, broken)
        case Exported(filename=filename, entries=entries):
            return exported(filename, entries)
