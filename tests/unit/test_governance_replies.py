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
from bot.core.governance_replies import (
    policy_changed,
    policy_shown,
    role_granted,
    role_revoked,
    roles_listing,
)
from bot.core.policy import Role, WorkspacePolicy
from bot.core.roles import RoleHolder

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
    assert '{"replicas": 2}' in text
    assert "approved → ok (approved by <@U2>)" in text
    assert "free the" in text
    assert audit_listing([]).text == "No audit entries match."


def test_audit_listing_splits_long_logs_into_sections() -> None:
    rows = [Row(seq=i, params={"note": "x" * 200}) for i in range(50)]
    reply = audit_listing(rows)
    assert reply.blocks is not None and len(reply.blocks) > 1
    assert all(len(b["text"]["text"]) <= 3000 for b in reply.blocks)


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
