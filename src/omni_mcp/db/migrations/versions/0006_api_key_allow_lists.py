"""api key allow-lists for prompts, resources and servers

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = ("allowed_prompts", "allowed_resources", "allowed_servers")


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.add_column(sa.Column(column, sa.JSON(), nullable=True))
    # A key made with --tools before allow-lists covered prompts and resources was meant to reach those
    # tools only: it keeps reaching no prompt, resource or whole server.
    api_keys = sa.table(
        "api_keys",
        sa.column("id", sa.Integer()),
        sa.column("allowed_tools", sa.JSON()),
        *(sa.column(column, sa.JSON()) for column in COLUMNS),
    )
    connection = op.get_bind()
    # Read through the JSON type: a missing list may be stored as SQL NULL or as JSON null.
    limited = [
        row.id
        for row in connection.execute(sa.select(api_keys.c.id, api_keys.c.allowed_tools))
        if row.allowed_tools is not None
    ]
    if limited:
        connection.execute(
            api_keys.update().where(api_keys.c.id.in_(limited)).values({column: [] for column in COLUMNS})
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        for column in reversed(COLUMNS):
            batch_op.drop_column(column)
