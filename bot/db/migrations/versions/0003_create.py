"""Creating deployments: create requests, templates, provider certificates.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "create_requests",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("submission_key", sa.String(200), nullable=False),
        sa.Column("enterprise_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64)),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("form", sa.Text, nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("estimate", sa.Text),
        sa.Column("deployment_id", sa.String(128)),
        sa.Column("result", sa.Text),
        sa.Column("bids", sa.Text),
        sa.Column("accepted_bid", sa.String(200)),
        sa.Column("message_channel", sa.String(64)),
        sa.Column("message_ts", sa.String(32)),
        sa.Column("error", sa.Text),
        sa.Column("bid_deadline", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_create_requests"),
        sa.UniqueConstraint("submission_key", name="uq_create_requests_submission_key"),
    )
    op.create_index("ix_create_requests_team_id", "create_requests", ["team_id"])
    op.create_index("ix_create_requests_state", "create_requests", ["state"])
    op.create_table(
        "create_templates",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("enterprise_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("form", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_create_templates"),
        sa.UniqueConstraint(
            "enterprise_id", "team_id", "name", name="uq_create_templates_enterprise_id"
        ),
    )
    op.create_index("ix_create_templates_team_id", "create_templates", ["team_id"])
    op.create_table(
        "provider_certificates",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("enterprise_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("encrypted", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_provider_certificates"),
        sa.UniqueConstraint(
            "enterprise_id", "team_id", "provider", name="uq_provider_certificates_enterprise_id"
        ),
    )


def downgrade() -> None:
    op.drop_table("provider_certificates")
    op.drop_index("ix_create_templates_team_id", table_name="create_templates")
    op.drop_table("create_templates")
    op.drop_index("ix_create_requests_state", table_name="create_requests")
    op.drop_index("ix_create_requests_team_id", table_name="create_requests")
    op.drop_table("create_requests")
