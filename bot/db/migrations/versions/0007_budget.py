"""Budgets: spending caps per workspace and provider, the burn history spend is integrated
from, the budget alerts that fired (once each), and the cost per hour of each watched state.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("watched_states") as batch:
        batch.add_column(sa.Column("cost_per_hour", sa.Float(), nullable=True))
    # Forget the digests, so the next poll normalizes every listed deployment once and records
    # its cost (nothing is announced: a state whose status and alerts are unchanged is quiet).
    op.execute("UPDATE watched_states SET fingerprint = ''")
    op.create_table(
        "budget_caps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("per_hour", sa.Float(), nullable=True),
        sa.Column("per_day", sa.Float(), nullable=True),
        sa.Column("per_month", sa.Float(), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_caps")),
        sa.UniqueConstraint(
            "enterprise_id", "team_id", "provider", name=op.f("uq_budget_caps_enterprise_id")
        ),
    )
    op.create_table(
        "burn_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("per_hour", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_burn_samples")),
    )
    op.create_index("ix_burn_samples_key_at", "burn_samples", ["team_id", "provider", "at"])
    op.create_table(
        "budget_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("cap", sa.String(length=8), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("value_usd", sa.Float(), nullable=False),
        sa.Column("cap_usd", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_alerts")),
        sa.UniqueConstraint(
            "enterprise_id",
            "team_id",
            "provider",
            "period",
            "cap",
            "level",
            name=op.f("uq_budget_alerts_enterprise_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("budget_alerts")
    op.drop_index("ix_burn_samples_key_at", table_name="burn_samples")
    op.drop_table("burn_samples")
    op.drop_table("budget_caps")
    with op.batch_alter_table("watched_states") as batch:
        batch.drop_column("cost_per_hour")
