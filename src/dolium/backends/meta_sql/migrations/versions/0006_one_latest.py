"""At most one latest version per key, enforced by PostgreSQL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

A unique partial index over (bucket, key) of the latest versions. Only on
PostgreSQL, where several server processes write at once; on SQLite one
writer at a time holds the database, and the schema has no such index there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEX = "uq_versions_latest"


def _postgresql() -> bool:
    return bool(op.get_context().dialect.name == "postgresql")


def upgrade() -> None:
    if _postgresql():
        op.create_index(
            INDEX,
            "versions",
            ["bucket", "key"],
            unique=True,
            postgresql_where=sa.column("is_latest", sa.Boolean()),
        )


def downgrade() -> None:
    if _postgresql():
        op.drop_index(INDEX, table_name="versions")
