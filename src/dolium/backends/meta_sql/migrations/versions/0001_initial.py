"""Initial schema of the SQL meta store.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Written out in full, not derived from `schema.py`, so that this migration
keeps creating the same tables when the schema moves on.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NAME = sa.String(255)


def _col(name: str, type_: sa.types.TypeEngine[Any], nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, type_, nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "tenants",
        _col("name", NAME),
        _col("canonical_id", NAME),
        _col("display_name", NAME),
        _col("email", NAME),
        _col("created", sa.Double()),
        sa.PrimaryKeyConstraint("name", name="pk_tenants"),
    )
    op.create_table(
        "buckets",
        _col("name", NAME),
        _col("owner", NAME),
        _col("created", sa.Double()),
        _col("region", NAME),
        _col("versioning", sa.String(16)),
        _col("object_lock", sa.Boolean()),
        _col("block_size", sa.BigInteger()),
        _col("hash_algorithm", sa.String(32)),
        sa.PrimaryKeyConstraint("name", name="pk_buckets"),
    )
    op.create_index("ix_buckets_owner_name", "buckets", ["owner", "name"])
    op.create_table(
        "users",
        _col("tenant", NAME),
        _col("name", NAME),
        _col("admin", sa.Boolean()),
        _col("created", sa.Double()),
        sa.PrimaryKeyConstraint("tenant", "name", name="pk_users"),
        sa.ForeignKeyConstraint(
            ["tenant"], ["tenants.name"], name="fk_users_tenant_tenants", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "versions",
        sa.Column("serial", SERIAL, nullable=False, autoincrement=True),
        _col("bucket", NAME),
        _col("key", sa.LargeBinary()),
        _col("version_id", NAME),
        _col("is_latest", sa.Boolean()),
        _col("delete_marker", sa.Boolean()),
        _col("size", sa.BigInteger()),
        _col("etag", NAME),
        _col("modified", sa.Double()),
        _col("owner", NAME),
        _col("content_type", sa.Text()),
        _col("extents", sa.LargeBinary(), nullable=True),
        _col("inline", sa.LargeBinary(), nullable=True),
        _col("top_hash", NAME, nullable=True),
        _col("meta", sa.Text(), nullable=True),
        _col("headers", sa.Text(), nullable=True),
        _col("checksums", sa.Text(), nullable=True),
        _col("checksum_type", sa.String(32)),
        _col("parts", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("serial", name="pk_versions"),
        sa.ForeignKeyConstraint(["bucket"], ["buckets.name"], name="fk_versions_bucket_buckets"),
        sqlite_autoincrement=True,
    )
    listed = sa.and_(
        sa.column("is_latest", sa.Boolean()) == sa.true(),
        sa.column("delete_marker", sa.Boolean()) == sa.false(),
    )
    op.create_index(
        "ix_versions_bucket_key_serial",
        "versions",
        [sa.column("bucket"), sa.column("key"), sa.column("serial").desc()],
    )
    op.create_index(
        "ix_versions_listing",
        "versions",
        ["bucket", "key"],
        sqlite_where=listed,
        postgresql_where=listed,
    )
    op.create_index(
        "uq_versions_bucket_version_id_key",
        "versions",
        ["bucket", "version_id", "key"],
        unique=True,
    )
    op.create_table(
        "uploads",
        sa.Column("serial", SERIAL, nullable=False, autoincrement=True),
        _col("bucket", NAME),
        _col("upload_id", NAME),
        _col("key", sa.LargeBinary()),
        _col("initiated", sa.Double()),
        _col("owner", NAME),
        _col("content_type", sa.Text()),
        _col("meta", sa.Text(), nullable=True),
        _col("headers", sa.Text(), nullable=True),
        _col("checksum_algorithm", sa.String(32)),
        _col("checksum_type", sa.String(32)),
        sa.PrimaryKeyConstraint("serial", name="pk_uploads"),
        sa.UniqueConstraint("bucket", "upload_id", name="uq_uploads_bucket_upload_id"),
        sa.ForeignKeyConstraint(
            ["bucket"], ["buckets.name"], name="fk_uploads_bucket_buckets", ondelete="CASCADE"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_uploads_bucket_key_serial", "uploads", ["bucket", "key", "serial"])
    op.create_table(
        "access_keys",
        _col("access_key", NAME),
        _col("secret_key", NAME),
        _col("tenant", NAME),
        _col("user_name", NAME),
        _col("created", sa.Double()),
        _col("active", sa.Boolean()),
        sa.PrimaryKeyConstraint("access_key", name="pk_access_keys"),
        sa.ForeignKeyConstraint(
            ["tenant", "user_name"],
            ["users.tenant", "users.name"],
            name="fk_access_keys_tenant_user_name_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_access_keys_tenant_user_name", "access_keys", ["tenant", "user_name"])
    op.create_table(
        "parts",
        _col("bucket", NAME),
        _col("upload_id", NAME),
        _col("number", sa.Integer()),
        _col("size", sa.BigInteger()),
        _col("etag", NAME),
        _col("modified", sa.Double()),
        _col("extents", sa.LargeBinary(), nullable=True),
        _col("checksums", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("bucket", "upload_id", "number", name="pk_parts"),
        sa.ForeignKeyConstraint(
            ["bucket", "upload_id"],
            ["uploads.bucket", "uploads.upload_id"],
            name="fk_parts_bucket_upload_id_uploads",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    for table in ("parts", "access_keys", "uploads", "versions", "users", "buckets", "tenants"):
        op.drop_table(table)
