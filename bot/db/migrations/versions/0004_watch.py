"""Watching deployments: watches, last-known states, the notification outbox, per-deployment
message ts, per-channel pacing, poll leases, change attributions, alert thresholds.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_attributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("deployment_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_attributions")),
    )
    op.create_index(
        "ix_change_attributions_lookup",
        "change_attributions",
        ["team_id", "provider", "created_at"],
    )

    op.create_table(
        "deployment_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("deployment_id", sa.String(length=128), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("posted_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_messages")),
        sa.UniqueConstraint(
            "enterprise_id",
            "team_id",
            "provider",
            "deployment_id",
            "channel_id",
            name=op.f("uq_deployment_messages_enterprise_id"),
        ),
    )
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("next_post_at", sa.Float(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channels")),
        sa.UniqueConstraint(
            "enterprise_id",
            "team_id",
            "channel_id",
            name=op.f("uq_notification_channels_enterprise_id"),
        ),
    )
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("deployment_id", sa.String(length=128), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reply_blocks", sa.Text(), nullable=True),
        sa.Column("card", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.Float(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint(
            "enterprise_id",
            "team_id",
            "provider",
            "deployment_id",
            "channel_id",
            "seq",
            name=op.f("uq_notification_outbox_enterprise_id"),
        ),
    )
    op.create_index(
        "ix_notification_outbox_pending", "notification_outbox", ["state", "not_before"]
    )

    op.create_table(
        "poll_leases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("next_due", sa.Float(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("baselined", sa.Boolean(), nullable=False),
        sa.Column("last_polled_at", sa.Float(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_leases")),
        sa.UniqueConstraint(
            "enterprise_id", "team_id", "provider", name=op.f("uq_poll_leases_enterprise_id")
        ),
    )
    op.create_table(
        "watch_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("runway_hours", sa.Float(), nullable=False),
        sa.Column("credits_usd", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_settings")),
        sa.UniqueConstraint(
            "enterprise_id", "team_id", name=op.f("uq_watch_settings_enterprise_id")
        ),
    )
    op.create_table(
        "watched_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("deployment_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("alerts", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("gone", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watched_states")),
        sa.UniqueConstraint(
            "enterprise_id",
            "team_id",
            "provider",
            "deployment_id",
            name=op.f("uq_watched_states_enterprise_id"),
        ),
    )
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("deployment_id", sa.String(length=128), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watches")),
        sa.UniqueConstraint(
            "enterprise_id",
            "team_id",
            "provider",
            "deployment_id",
            "channel_id",
            name=op.f("uq_watches_enterprise_id"),
        ),
    )
    op.create_index("ix_watches_team_id", "watches", ["team_id"])


def downgrade() -> None:
    op.drop_index("ix_watches_team_id", table_name="watches")

    op.drop_table("watches")
    op.drop_table("watched_states")
    op.drop_table("watch_settings")
    op.drop_table("poll_leases")
    op.drop_index("ix_notification_outbox_pending", table_name="notification_outbox")

    op.drop_table("notification_outbox")
    op.drop_table("notification_channels")
    op.drop_table("deployment_messages")
    op.drop_index("ix_change_attributions_lookup", table_name="change_attributions")

    op.drop_table("change_attributions")
