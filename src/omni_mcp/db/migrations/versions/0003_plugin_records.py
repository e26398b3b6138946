"""plugin records

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
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
        "plugin_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("plugin", sa.String(length=200), nullable=False),
        sa.Column("collection", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "plugin", "collection", "key", name="uq_plugin_record_key"),
    )
    with op.batch_alter_table("plugin_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plugin_records_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            "ix_plugin_records_recent",
            ["organization_id", "plugin", "collection", "updated_at"],
            unique=False,
        )


def downgrade() -> None:

    with op.batch_alter_table("plugin_records", schema=None) as batch_op:
        batch_op.drop_index("ix_plugin_records_recent")
        batch_op.drop_index(batch_op.f("ix_plugin_records_organization_id"))

    op.drop_table("plugin_records")
