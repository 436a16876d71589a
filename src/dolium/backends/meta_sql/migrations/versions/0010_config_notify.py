"""On PostgreSQL, a move of the config epoch also notifies the channel
`dolium_config_epoch`, so that servers listening on it need not read the
epoch at every request.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

from dolium.backends.meta_sql.schema import PG_BUMP_FUNCTION

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(PG_BUMP_FUNCTION)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION config_epoch_bump() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN UPDATE config_epoch SET n = n + 1; RETURN NULL; END $$"
        )
