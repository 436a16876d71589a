"""The change log and its consumers' cursors.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Written out rather than imported from the schema: a migration must keep
# creating what it created when it was written.
_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("serial", _BIGINT, primary_key=True, autoincrement=True),
        sa.Column("time", sa.Double(), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("actor_tenant", sa.String(255), nullable=False),
        sa.Column("actor_user", sa.String(255), nullable=False),
        sa.Column("actor_key", sa.String(255), nullable=False),
        sa.Column("actor_address", sa.String(255), nullable=False),
        sa.Column("request_id", sa.String(255), nullable=False),
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("bucket", sa.String(255), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version_id", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("etag", sa.String(255), nullable=False),
        sa.Column("top_hash", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("serial", name="pk_changes"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "cursors",
        sa.Column("consumer", sa.String(255), nullable=False),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", name="pk_cursors"),
    )


def downgrade() -> None:
    op.drop_table("cursors")
    op.drop_table("changes")
