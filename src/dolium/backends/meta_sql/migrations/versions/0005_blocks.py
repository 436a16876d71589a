"""Storage policies of buckets, versions, uploads and parts; block references and leases.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Rows written before storage policies were stored through the server's one
block store, which is the `standard` policy. The reference count of every
block the existing versions and parts use is computed here, a page of rows
at a time, so a data directory of the previous release is collected
correctly from its first start.
"""

from __future__ import annotations

import struct
from collections import Counter

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DEFAULT_POLICY = "standard"
POLICY_TABLES = ("buckets", "versions", "uploads", "parts")
_PAGE = 500
_SIZE = struct.Struct(">Q")


def _digests(packed: bytes | None) -> list[bytes]:
    """The digests of a packed block list (the format of `codec.pack_extents`)."""
    if not packed:
        return []
    view = memoryview(packed)
    out: list[bytes] = []
    if view[0]:
        length = view[0]
        for at in range(1, len(view), length + _SIZE.size):
            out.append(bytes(view[at : at + length]))
        return out
    at = 1
    while at < len(view):
        length = view[at]
        out.append(bytes(view[at + 1 : at + 1 + length]))
        at += 1 + length + _SIZE.size
    return out


def upgrade() -> None:
    # ADD COLUMN with a constant default: no table rebuild on SQLite or PostgreSQL.
    for table in POLICY_TABLES:
        op.add_column(
            table,
            sa.Column("policy", sa.String(64), nullable=False, server_default=DEFAULT_POLICY),
        )
    refs = op.create_table(
        "block_refs",
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("refs", sa.BigInteger(), nullable=False),
        sa.Column("doomed", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("policy", "digest", name="pk_block_refs"),
    )
    op.create_index(
        "ix_block_refs_garbage",
        "block_refs",
        ["policy", "digest"],
        sqlite_where=sa.text("refs = 0"),
        postgresql_where=sa.text("refs = 0"),
    )
    op.create_table(
        "block_leases",
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("policy", "digest", "holder", name="pk_block_leases"),
    )
    op.create_index("ix_block_leases_expires", "block_leases", ["expires"])
    if not op.get_context().as_sql:
        _count_existing_references(refs)


def _count_existing_references(refs: sa.Table) -> None:
    conn = op.get_bind()
    counts: Counter[bytes] = Counter()
    for table, key in (("versions", "serial"), ("parts", None)):
        rows = sa.table(table, sa.column("extents"), *([sa.column(key)] if key else []))
        query = sa.select(rows.c.extents).where(rows.c.extents.is_not(None))
        if key is None:
            for (packed,) in conn.execute(query):
                counts.update(_digests(packed))
            continue
        mark = 0
        while True:
            page = conn.execute(
                sa.select(rows.c[key], rows.c.extents)
                .where(rows.c[key] > mark, rows.c.extents.is_not(None))
                .order_by(rows.c[key])
                .limit(_PAGE)
            ).all()
            for _, packed in page:
                counts.update(_digests(packed))
            if len(page) < _PAGE:
                break
            mark = page[-1][0]
    items = list(counts.items())
    for start in range(0, len(items), _PAGE):
        conn.execute(
            refs.insert(),
            [
                {"policy": DEFAULT_POLICY, "digest": d, "refs": n, "doomed": None}
                for d, n in items[start : start + _PAGE]
            ],
        )


def downgrade() -> None:
    op.drop_index("ix_block_leases_expires", table_name="block_leases")
    op.drop_table("block_leases")
    op.drop_index("ix_block_refs_garbage", table_name="block_refs")
    op.drop_table("block_refs")
    for table in reversed(POLICY_TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("policy")
