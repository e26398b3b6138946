"""call audit, per-org argument auditing

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "call_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("call_logs", schema=None) as batch_op:
        batch_op.create_index("ix_call_logs_org_time", ["organization_id", "created_at"], unique=False)

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("audit_arguments", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("audit_arguments")

    with op.batch_alter_table("call_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_call_logs_org_time")

    op.drop_table("call_logs")
