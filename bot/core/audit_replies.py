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
from bot.core.render import PROVIDER_LABEL, escape
from bot.core.replies import Reply, error, notice, section

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


def _line(row: AuditEntry) -> str:
    what = row.action
    if row.target:
        what += f" `{escape(row.target)}`"
    if row.provider:
        what += f" on {PROVIDER_LABEL.get(row.provider, row.provider)}"
    extras = {k: v for k, v in row.params.items() if k != "reason"}
    detail = f" {escape(json.dumps(extras, sort_keys=True))}" if extras else ""
    outcome = f"{row.decision} → {row.result}"
    if row.approvers:
        outcome += " (approved by " + ", ".join(f"<@{a}>" for a in row.approvers) + ")"
    reason = f" — “{escape(row.params['reason'])}”" if row.params.get("reason") else ""
    stamp = when(row.created_at)
    return f"#{row.seq} {stamp} <@{row.user_id}>: {what}{detail} · {outcome}{reason}"


def audit_listing(rows: Sequence[AuditEntry]) -> Reply:
    if not rows:
        return Reply(text="No audit entries match.")
    lines = [f"*Audit log* · newest first ({len(rows)})", *(_line(row) for row in rows)]
    text = "\n".join(lines)
    chunks = [text[i : i + 2900] for i in range(0, len(text), 2900)][:40]
    return Reply(text=text, blocks=[section(c) for c in chunks])


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
        case AuditListing(rows=rows):
            return audit_listing(rows)
        case Verified(entries=entries, first_broken=broken):
            return verified(entries, broken)
        case Exported(filename=filename, entries=entries):
            return exported(filename, entries)
