"""Containers keyed by id; the global S3 name index; paths, accounts and groups.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

Buckets become containers, unique per (owner, name) with an integer id that
versions, uploads and parts now refer to instead of the bucket name. Those
four tables are rebuilt: copied aside, dropped, created anew (so that no
index or constraint name is taken twice on either engine) and filled from
the copies, serials kept. Every bucket keeps its name as its global name;
every key with a version gets a path record with a new UUID; each
container's usage is counted from its versions. Written out in full, not derived from `schema.py`.
"""

# The SQL below is built from this module's constants only, never from data.
# ruff: noqa: S608

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NAME = sa.String(255)
REBUILT = ("parts", "uploads", "versions", "buckets")  # children first
# A version 4 UUID from SQL, so that no row passes through Python.
_UUID = {
    "sqlite": (
        "lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||"
        " substr(lower(hex(randomblob(2))), 2) || '-' ||"
        " substr('89ab', 1 + (abs(random()) % 4), 1) ||"
        " substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))"
    ),
    "postgresql": "CAST(gen_random_uuid() AS VARCHAR)",
}
_VERSION_COLUMNS = (
    "key, version_id, is_latest, delete_marker, size, etag, modified, owner, content_type,"
    " extents, inline, top_hash, meta, headers, checksums, checksum_type, parts, attrs"
)
_UPLOAD_COLUMNS = (
    "upload_id, key, initiated, owner, content_type, meta, headers, checksum_algorithm,"
    " checksum_type, attrs"
)
_PART_COLUMNS = "upload_id, number, size, etag, modified, extents, checksums"
_BUCKET_COLUMNS = (
    "owner, name, created, region, versioning, object_lock, block_size, hash_algorithm, configs"
)


def _col(name: str, type_: sa.types.TypeEngine[Any], nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, type_, nullable=nullable)


def _container_fk(table: str, cascade: bool = True) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["bucket"],
        ["buckets.id"],
        name=f"fk_{table}_bucket_buckets",
        ondelete="CASCADE" if cascade else None,
    )


def _create_tables() -> None:
    op.create_table(
        "buckets",
        sa.Column("id", SERIAL, nullable=False, autoincrement=True),
        _col("owner", NAME),
        _col("name", sa.String(256)),
        _col("created", sa.Double()),
        _col("region", NAME),
        _col("versioning", sa.String(16)),
        _col("object_lock", sa.Boolean()),
        _col("block_size", sa.BigInteger()),
        _col("hash_algorithm", sa.String(32)),
        _col("configs", sa.Text(), nullable=True),
        _col("bytes", sa.BigInteger()),
        _col("objects", sa.BigInteger()),
        sa.PrimaryKeyConstraint("id", name="pk_buckets"),
        sa.UniqueConstraint("owner", "name", name="uq_buckets_owner_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "bucket_names",
        _col("name", NAME),
        _col("bucket", sa.BigInteger()),
        sa.PrimaryKeyConstraint("name", name="pk_bucket_names"),
        sa.UniqueConstraint("bucket", name="uq_bucket_names_bucket"),
        _container_fk("bucket_names"),
    )
    op.create_table(
        "accounts",
        _col("name", NAME),
        _col("meta", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_accounts"),
    )
    op.create_table(
        "account_groups",
        _col("account", NAME),
        _col("name", NAME),
        _col("member", NAME),
        sa.PrimaryKeyConstraint("account", "name", "member", name="pk_account_groups"),
    )
    op.create_table(
        "paths",
        _col("bucket", sa.BigInteger()),
        _col("key", sa.LargeBinary()),
        _col("uuid", sa.String(36)),
        _col("sharing", sa.Text(), nullable=True),
        _col("public_id", NAME, nullable=True),
        _col("delete_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("bucket", "key", name="pk_paths"),
        _container_fk("paths"),
        sqlite_with_rowid=False,
    )
    public = sa.column("public_id", sa.String()).is_not(None)
    op.create_index(
        "uq_paths_public_id",
        "paths",
        ["public_id"],
        unique=True,
        sqlite_where=public,
        postgresql_where=public,
    )
    op.create_table(
        "versions",
        sa.Column("serial", SERIAL, nullable=False, autoincrement=True),
        _col("bucket", sa.BigInteger()),
        _col("key", sa.LargeBinary()),
        _col("version_id", NAME),
        _col("is_latest", sa.Boolean()),
        _col("delete_marker", sa.Boolean()),
        _col("size", sa.BigInteger()),
        _col("etag", NAME),
        _col("modified", sa.Double()),
        _col("owner", NAME),
        _col("user_name", NAME),
        _col("content_type", sa.Text()),
        _col("extents", sa.LargeBinary(), nullable=True),
        _col("inline", sa.LargeBinary(), nullable=True),
        _col("top_hash", NAME, nullable=True),
        _col("meta", sa.Text(), nullable=True),
        _col("headers", sa.Text(), nullable=True),
        _col("checksums", sa.Text(), nullable=True),
        _col("checksum_type", sa.String(32)),
        _col("parts", sa.LargeBinary(), nullable=True),
        _col("attrs", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("serial", name="pk_versions"),
        _container_fk("versions", cascade=False),
        sqlite_autoincrement=True,
    )
    listed = sa.and_(
        sa.column("is_latest", sa.Boolean()) == sa.true(),
        sa.column("delete_marker", sa.Boolean()) == sa.false(),
    )
    op.create_index(
        "uq_versions_bucket_version_id_key",
        "versions",
        ["bucket", "version_id", "key"],
        unique=True,
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
    op.create_table(
        "uploads",
        sa.Column("serial", SERIAL, nullable=False, autoincrement=True),
        _col("bucket", sa.BigInteger()),
        _col("upload_id", NAME),
        _col("key", sa.LargeBinary()),
        _col("initiated", sa.Double()),
        _col("owner", NAME),
        _col("content_type", sa.Text()),
        _col("meta", sa.Text(), nullable=True),
        _col("headers", sa.Text(), nullable=True),
        _col("checksum_algorithm", sa.String(32)),
        _col("checksum_type", sa.String(32)),
        _col("attrs", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("serial", name="pk_uploads"),
        sa.UniqueConstraint("bucket", "upload_id", name="uq_uploads_bucket_upload_id"),
        _container_fk("uploads"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_uploads_bucket_key_serial", "uploads", ["bucket", "key", "serial"])
    op.create_table(
        "parts",
        _col("bucket", sa.BigInteger()),
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


def _fill(dialect: str) -> None:
    run = op.execute
    run(
        f"INSERT INTO buckets ({_BUCKET_COLUMNS}, bytes, objects)"
        f" SELECT {_BUCKET_COLUMNS}, 0, 0 FROM buckets_0002 ORDER BY name"
    )
    run("INSERT INTO bucket_names (name, bucket) SELECT name, id FROM buckets")
    old = ", ".join(f"o.{c.strip()}" for c in _VERSION_COLUMNS.split(","))
    run(
        f"INSERT INTO versions (serial, bucket, {_VERSION_COLUMNS}, user_name)"
        f" SELECT o.serial, b.id, {old}, '' FROM versions_0002 o"
        " JOIN buckets b ON b.name = o.bucket"
    )
    old = ", ".join(f"o.{c.strip()}" for c in _UPLOAD_COLUMNS.split(","))
    run(
        f"INSERT INTO uploads (serial, bucket, {_UPLOAD_COLUMNS})"
        f" SELECT o.serial, b.id, {old} FROM uploads_0002 o JOIN buckets b ON b.name = o.bucket"
    )
    old = ", ".join(f"o.{c.strip()}" for c in _PART_COLUMNS.split(","))
    run(
        f"INSERT INTO parts (bucket, {_PART_COLUMNS})"
        f" SELECT b.id, {old} FROM parts_0002 o JOIN buckets b ON b.name = o.bucket"
    )
    run(
        f"INSERT INTO paths (bucket, key, uuid) SELECT bucket, key, {_UUID[dialect]}"
        " FROM (SELECT DISTINCT bucket, key FROM versions) AS used"
    )
    run(
        "UPDATE buckets SET"
        " bytes = (SELECT COALESCE(SUM(v.size), 0) FROM versions v WHERE v.bucket = buckets.id),"
        " objects = (SELECT COUNT(*) FROM versions v WHERE v.bucket = buckets.id"
        " AND v.is_latest AND NOT v.delete_marker)"
    )


def _keep_sequences(dialect: str, before: bool) -> None:
    """Serials are never reused: carry each table's high-water mark over the rebuild."""
    if dialect == "sqlite":
        if before:
            op.execute(
                "CREATE TABLE seq_0002 AS SELECT name, seq FROM sqlite_sequence"
                " WHERE name IN ('versions', 'uploads')"
            )
            return
        op.execute("DELETE FROM sqlite_sequence WHERE name IN (SELECT name FROM seq_0002)")
        op.execute("INSERT INTO sqlite_sequence (name, seq) SELECT name, seq FROM seq_0002")
        op.execute("DROP TABLE seq_0002")
    elif dialect == "postgresql" and not before:
        for table in ("versions", "uploads"):
            op.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'serial'),"
                f" COALESCE(MAX(serial), 0) + 1, false) FROM {table}"
            )


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    _keep_sequences(dialect, before=True)
    for table in REBUILT:
        op.execute(f"CREATE TABLE {table}_0002 AS SELECT * FROM {table}")
    for table in REBUILT:
        op.drop_table(table)
    _create_tables()
    _fill(dialect)
    _keep_sequences(dialect, before=False)
    for table in REBUILT:
        op.execute(f"DROP TABLE {table}_0002")


def downgrade() -> None:
    raise NotImplementedError("containers keyed by id cannot be folded back into bucket names")
