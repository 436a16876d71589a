"""Identity policies: named JSON documents of users and of account groups,
watched by the config epoch like the users and groups they belong to.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dolium.backends.meta_sql.schema import epoch_triggers

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("user_policies", "group_policies")


def upgrade() -> None:
    op.create_table(
        "user_policies",
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("user_name", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant", "user_name"],
            ["users.tenant", "users.name"],
            name="fk_user_policies_tenant_user_name_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant", "user_name", "name", name="pk_user_policies"),
    )
    op.create_table(
        "group_policies",
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("group_name", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account"],
            ["tenants.name"],
            name="fk_group_policies_account_tenants",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account", "group_name", "name", name="pk_group_policies"),
    )
    for statement in epoch_triggers(op.get_context().dialect.name, TABLES, function=False):
        op.execute(statement)


def downgrade() -> None:
    # Dropping a table drops its triggers with it.
    op.drop_table("group_policies")
    op.drop_table("user_policies")
