"""Bucket configuration documents; tags, ACLs, lock and encryption of versions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


COLUMNS = (("buckets", "configs"), ("versions", "attrs"), ("uploads", "attrs"))


def upgrade() -> None:
    # Plain ADD COLUMN: nullable, no default, so no table rebuild on SQLite.
    for table, column in COLUMNS:
        op.add_column(table, sa.Column(column, sa.Text(), nullable=True))


def downgrade() -> None:
    for table, column in reversed(COLUMNS):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
