"""The config epoch: a number that triggers move on with every change of
tenants, users, keys, containers and accounts, so that each server process
may cache those and check one number per request.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dolium.backends.meta_sql.schema import epoch_triggers

# The tables this revision watches (later revisions add their own).
TABLES = (
    "tenants",
    "users",
    "access_keys",
    "buckets",
    "bucket_names",
    "accounts",
    "account_groups",
)

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "config_epoch",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_config_epoch"),
    )
    op.bulk_insert(table, [{"id": 0, "n": 0}])
    for statement in epoch_triggers(op.get_context().dialect.name, TABLES):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    for statement in reversed(epoch_triggers(dialect, TABLES)):
        words = statement.split()
        if words[1] == "TRIGGER":
            on = words[words.index("ON") + 1]
            op.execute(
                f"DROP TRIGGER {words[2]}" + (f" ON {on}" if dialect == "postgresql" else "")
            )
        else:
            op.execute("DROP FUNCTION config_epoch_bump()")
    op.drop_table("config_epoch")
