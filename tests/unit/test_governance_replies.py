"""What roles, policy and audit commands answer, and the audit export file (pure rendering)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.core.audit_replies import (
    EXPORT_FIELDS,
    audit_listing,
    csv_safe,
    export_content,
    export_filename,
    verified,
)
from bot.core.governance import AuditCommand
from bot.core.governance_replies import (
    policy_changed,
    policy_shown,
    role_granted,
    role_revoked,
    roles_listing,
)
from bot.core.paging import page_of
from bot.core.policy import Role, WorkspacePolicy
from bot.core.roles import RoleHolder
from tests.blockkit_support import check_message

AT = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    seq: int = 1
    created_at: datetime = AT
    user_id: str = "U1"
    channel_id: str | None = "C1"
    action: str = "stop"
    provider: str | None = "nosana"
    target: str | None = "dep-1"
    params: dict[str, Any] = field(default_factory=dict)
    decision: str = "approved"
    approvers: list[str] = field(default_factory=list)
    result: str = "ok"
    detail: str | None = None
    provider_ref: str | None = None
    request_id: str | None = None
    team_id: str = "T1"
    enterprise_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.created_at.isoformat(),
            "team_id": self.team_id,
            "enterprise_id": self.enterprise_id,
            "user_id": self.user_id,
            "channel_id": self.channel_id,
            "action": self.action,
            "provider": self.provider,
            "target": self.target,
            "params": self.params,
            "decision": self.decision,
            "approvers": self.approvers,
            "result": self.result,
            "detail": self.detail,
            "provider_ref": self.provider_ref,
            "request_id": self.request_id,
        }


def test_roles_listing_names_grants_and_the_default() -> None:
    reply = roles_listing(
        Role.ADMIN,
        [RoleHolder("user", "U1", Role.ADMIN, "U9"), RoleHolder("usergroup", "S1", Role.VIEWER)],
        Role.OPERATOR,
    )
    lines = reply.text.splitlines()
    assert lines[0] == "*Roles* · you are an admin"
    assert lines[1] == "• <@U1>: admin (by <@U9>)"
    assert lines[2].startswith("• <!subteam^S1>: viewer")
    assert lines[3].startswith("Everyone else: operator")
    assert not reply.public
    empty = roles_listing(Role.VIEWER, [], Role.VIEWER)
    assert "you are a viewer" in empty.text and "• No roles granted yet." in empty.text


def test_grant_and_revoke_replies() -> None:
    granted = role_granted("U9", "user", "U1", Role.OPERATOR, Role.ADMIN)
    assert granted.public and "<@U9> made <@U1> an operator (was admin)." in granted.text
    same = role_granted("U9", "usergroup", "S1", Role.VIEWER, Role.VIEWER)
    assert "made <!subteam^S1> a viewer." in same.text and "was" not in same.text
    revoked = role_revoked("U9", "user", "U1", Role.ADMIN, Role.VIEWER)
    assert revoked.public and "revoked <@U1>'s admin role" in revoked.text
    assert "back to the default (viewer" in revoked.text
    nothing = role_revoked("U9", "user", "U1", None, Role.VIEWER)
    assert not nothing.public and nothing.text == "<@U1> had no role granted; nothing changed."


def test_policy_replies() -> None:
    shown = policy_shown(WorkspacePolicy())
    assert shown.text.startswith(":scroll: *Policy*") and not shown.public
    changed = policy_changed("U9", WorkspacePolicy(default_role=Role.VIEWER))
    assert changed.public
    assert "<@U9> changed the policy" in changed.text
    assert "*Default role* for people without a grant: viewer" in changed.text


def test_audit_listing_shows_outcome_approvers_and_reason() -> None:
    row = Row(params={"reason": "free the *GPU*", "replicas": 2}, approvers=["U2"])
    text = audit_listing([row]).text
    assert text.startswith("*Audit log* · newest first (1)")
    assert "<@U1>: stop `dep-1` on Nosana" in text
    assert "stop `dep-1` on Nosana (replicas: 2) · approved" in text  # words, not JSON
    assert "{" not in text.split("|", 1)[1] and '"' not in text
    assert "approved → ok (approved by <@U2>)" in text
    assert "free the" in text
    assert audit_listing([]).text == "No audit entries match."


def test_audit_listing_splits_long_logs_into_sections() -> None:
    rows = [Row(seq=i, params={"note": "x" * 200}) for i in range(50)]
    reply = audit_listing(rows)
    assert reply.blocks is not None and len(reply.blocks) > 1
    assert all(len(b["text"]["text"]) <= 3000 for b in reply.blocks)


def test_audit_rows_read_recorded_arguments_as_words() -> None:
    chain = Row(
        action="chain",
        params={"steps": [{"op": "scale", "replicas": 3}, {"op": "start"}], "reason": "go"},
    )
    text = audit_listing([chain]).text
    assert "chain `dep-1` on Nosana (steps: scale (replicas: 3); start) · approved" in text
    assert "“go”" in text
    odd = Row(params={"new_name": "<!here> & co", "autostart": True, "cron": None})
    line = audit_listing([odd]).text
    assert "(autostart: yes, cron: none, new name: &lt;!here&gt; &amp; co)" in line
    assert check_message({"text": line, "blocks": audit_listing([odd]).blocks}) == []


def test_audit_listing_pages_and_never_cuts_a_row_or_token() -> None:
    command = AuditCommand(action="show", limit=50, target="llama", user_id="U7", page=1)
    rows = [Row(seq=57 - i, params={"note": "x " * 150}, approvers=["U2", "U3"]) for i in range(50)]
    reply = audit_listing(rows, page_of(57, 50, 1), command)
    assert check_message({"text": reply.text, "blocks": reply.blocks}) == []
    assert reply.text.startswith("*Audit log* · newest first · showing 1–50 of 57")
    shown = "\n".join(b["text"]["text"] for b in reply.blocks or [] if b["type"] == "section")
    # every row whole, in order, each in one section
    assert [line.split(" ", 1)[0] for line in shown.splitlines()[1:]] == [
        f"#{57 - i}" for i in range(50)
    ]
    for block in reply.blocks or []:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
            assert block["text"]["text"].count("<!date^") == block["text"]["text"].count("UTC>")
    footer = (reply.blocks or [])[-1]["elements"][0]["text"]
    assert footer == "Page 1 of 2 · older: `/deploy audit 50 <@U7> llama page 2`"
    last = audit_listing(rows[:7], page_of(57, 50, 2), command)
    assert "showing 51–57 of 57" in last.text
    assert "newer: `/deploy audit 50 <@U7> llama page 1`" in last.text and "older" not in last.text


def test_audit_listing_past_the_last_page_says_how_many_pages_there_are() -> None:
    reply = audit_listing([], page_of(57, 20, 9), AuditCommand(action="show", limit=20, page=9))
    assert reply.text == "There is no page 9: 57 entries match, 3 pages of 20."
    assert audit_listing([], page_of(0, 10, 1)).text == "No audit entries match."


def test_verified() -> None:
    assert verified(3, None).text == ":white_check_mark: The audit log is intact (3 entries)."
    broken = verified(3, "workspace T1, entry #2: edited")
    assert broken.error and "broken: workspace T1, entry #2: edited." in broken.text


@given(st.text(max_size=20))
def test_csv_cells_never_start_a_formula(value: str) -> None:
    safe = csv_safe(value)
    assert safe[:1] not in ("=", "+", "-", "@", "\t", "\r")
    assert safe in (value, "'" + value)


def test_export_csv_quotes_formulas_and_keeps_every_field() -> None:
    rows = [Row(target="=HYPERLINK(1)", params={"a": 1}, approvers=["U2", "U3"])]
    content = export_content(rows, "csv").decode()
    parsed = list(csv.DictReader(io.StringIO(content)))
    assert list(parsed[0]) == EXPORT_FIELDS
    assert parsed[0]["target"] == "'=HYPERLINK(1)"
    assert parsed[0]["approvers"] == "U2 U3"
    assert json.loads(parsed[0]["params"]) == {"a": 1}
    as_json = json.loads(export_content(rows, "json"))
    assert as_json[0]["target"] == "=HYPERLINK(1)" and as_json[0]["approvers"] == ["U2", "U3"]


def test_export_filename() -> None:
    assert export_filename("T1", AT, "json") == "deploybot-audit-T1-20261207-063000.json"
