"""Roles, workspace policies, approval requests and votes, and the hash-chained audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "role_grants",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("enterprise_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("granted_by", sa.String(32), nullable=False),
        sa.Column("granted_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_role_grants"),
        sa.UniqueConstraint(
            "enterprise_id", "team_id", "subject_id", name="uq_role_grants_enterprise_id"
        ),
    )
    op.create_index("ix_role_grants_team_id", "role_grants", ["team_id"])
    op.create_table(
        "workspace_policies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("enterprise_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("updated_by", sa.String(32), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workspace_policies"),
        sa.UniqueConstraint("enterprise_id", "team_id", name="uq_workspace_policies_enterprise_id"),
    )
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32)),
        sa.Column("requester_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("operation", sa.Text, nullable=False),
        sa.Column("provider", sa.String(16)),
        sa.Column("deployment_id", sa.String(200)),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("risk", sa.String(16), nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("decided_at", TZ),
        sa.Column("decided_by", sa.String(32)),
        sa.Column("decision_note", sa.Text),
        sa.Column("result", sa.Text),
        sa.Column("message_channel", sa.String(32)),
        sa.Column("message_ts", sa.String(32)),
        sa.Column("next_reminder_at", TZ),
        sa.Column("reminders_sent", sa.Integer, nullable=False),
        sa.Column("open_key", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_approval_requests"),
        sa.UniqueConstraint("open_key", name="uq_approval_requests_open_key"),
    )
    op.create_index("ix_approval_requests_team_id", "approval_requests", ["team_id"])
    op.create_index(
        "ix_approval_requests_state_expires_at", "approval_requests", ["state", "expires_at"]
    )
    op.create_table(
        "approval_votes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("voted_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_approval_votes"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["approval_requests.id"],
            name="fk_approval_votes_request_id_approval_requests",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("request_id", "user_id", name="uq_approval_votes_request_id"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("enterprise_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("provider", sa.String(16)),
        sa.Column("target", sa.String(200)),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("approvers", sa.Text, nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("provider_ref", sa.String(200)),
        sa.Column("request_id", sa.String(32)),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.UniqueConstraint("enterprise_id", "team_id", "seq", name="uq_audit_log_enterprise_id"),
    )


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("approval_votes")
    op.drop_index("ix_approval_requests_state_expires_at", table_name="approval_requests")
    op.drop_index("ix_approval_requests_team_id", table_name="approval_requests")
    op.drop_table("approval_requests")
    op.drop_table("workspace_policies")
    op.drop_index("ix_role_grants_team_id", table_name="role_grants")
    op.drop_table("role_grants")
