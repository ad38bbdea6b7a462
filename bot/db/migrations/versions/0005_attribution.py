"""Change attributions remember the operation's kind and expected effect, so the watcher
credits a transition to a person only when the operation explains it; watched states keep a
digest of the raw list item, so the watcher normalizes only what changed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("change_attributions") as batch:
        batch.add_column(
            sa.Column("op_kind", sa.String(length=16), server_default="", nullable=False)
        )
        batch.add_column(
            sa.Column("expects", sa.String(length=200), server_default="", nullable=False)
        )
    with op.batch_alter_table("watched_states") as batch:
        batch.add_column(
            sa.Column("fingerprint", sa.String(length=32), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("watched_states") as batch:
        batch.drop_column("fingerprint")
    with op.batch_alter_table("change_attributions") as batch:
        batch.drop_column("expects")
        batch.drop_column("op_kind")
