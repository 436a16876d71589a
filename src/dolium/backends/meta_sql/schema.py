"""Tables of the SQL meta store, portable between SQLite and PostgreSQL.

No SQL specific to one database: object keys are UTF-8 `LargeBinary` so
both engines order them by bytes (the order S3 lists in), block lists are
packed binary (see `codec`), small maps are JSON text. The migration in
`migrations/versions` must create exactly these tables; a test compares them.

Container owners are plain tenant names without a foreign key, because
tenants may live in another key store (a file, an HTTP service). The
`buckets` table holds containers, unique per (owner, name) and keyed by `id`;
every other table refers to a container by that id (its `bucket` columns),
and `bucket_names` is the global S3 name index onto them.
"""

from __future__ import annotations

import sqlalchemy as sa

# Stable constraint names, so later migrations can refer to them on both engines.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)

# Names of storage policies (config keys); DEFAULT_POLICY for rows written before them.
POLICY = sa.String(64)
DEFAULT_POLICY = "standard"

# INTEGER PRIMARY KEY is SQLite's rowid; BIGINT would not alias it.
Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("canonical_id", sa.String(255), nullable=False),
    sa.Column("display_name", sa.String(255), nullable=False),
    sa.Column("email", sa.String(255), nullable=False),
    sa.Column("created", sa.Double(), nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column(
        "tenant",
        sa.String(255),
        sa.ForeignKey("tenants.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("admin", sa.Boolean(), nullable=False),
    sa.Column("created", sa.Double(), nullable=False),
)

access_keys = sa.Table(
    "access_keys",
    metadata,
    sa.Column("access_key", sa.String(255), primary_key=True),
    sa.Column("secret_key", sa.String(255), nullable=False),
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("user_name", sa.String(255), nullable=False),
    sa.Column("created", sa.Double(), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(
        ["tenant", "user_name"], ["users.tenant", "users.name"], ondelete="CASCADE"
    ),
    sa.Index("ix_access_keys_tenant_user_name", "tenant", "user_name"),
)

buckets = sa.Table(
    "buckets",
    metadata,
    sa.Column("id", Serial, primary_key=True, autoincrement=True),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),  # 1..256 bytes of UTF-8, no "/"
    sa.Column("created", sa.Double(), nullable=False),
    sa.Column("region", sa.String(255), nullable=False),
    sa.Column("versioning", sa.String(16), nullable=False),
    sa.Column("object_lock", sa.Boolean(), nullable=False),
    sa.Column("block_size", sa.BigInteger(), nullable=False),
    sa.Column("hash_algorithm", sa.String(32), nullable=False),
    sa.Column("configs", sa.Text(), nullable=True),  # JSON: sub-resource -> document
    # Usage, kept by every write in its own transaction (see model.Usage).
    sa.Column("bytes", sa.BigInteger(), nullable=False),
    sa.Column("objects", sa.BigInteger(), nullable=False),
    sa.Column("policy", POLICY, nullable=False, server_default=DEFAULT_POLICY),
    sa.UniqueConstraint("owner", "name"),
    sqlite_autoincrement=True,  # an id is never reused, so a stale one finds nothing
)

# The global S3 namespace: an S3 bucket name -> the one container holding it.
bucket_names = sa.Table(
    "bucket_names",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column(
        "bucket",
        sa.BigInteger(),
        sa.ForeignKey("buckets.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
)

# Per account, whichever key store holds its users: metadata. (Its usage is
# the sum of its containers', so that writes to different containers of one
# account never wait on one row.)
accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("meta", sa.Text(), nullable=True),  # JSON map
)

account_groups = sa.Table(
    "account_groups",
    metadata,
    sa.Column("account", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("member", sa.String(255), primary_key=True),
)

# Identity policies (MetaStore.put_user_policy): named JSON documents of a
# user, and of an account group (groups are account_groups' names; a group's
# policies outlive its members, so they hang on the tenant, not on a member).
user_policies = sa.Table(
    "user_policies",
    metadata,
    sa.Column("tenant", sa.String(255), primary_key=True),
    sa.Column("user_name", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("document", sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(
        ["tenant", "user_name"], ["users.tenant", "users.name"], ondelete="CASCADE"
    ),
)

group_policies = sa.Table(
    "group_policies",
    metadata,
    sa.Column(
        "account",
        sa.String(255),
        sa.ForeignKey("tenants.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("group_name", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("document", sa.Text(), nullable=False),
)

# What outlives one version of a key; a row exists while the key has a version.
# Kept small on the write path: a new key adds one row to one B-tree (no
# rowid table beside the key, no index entry until a public id is set).
paths = sa.Table(
    "paths",
    metadata,
    sa.Column(
        "bucket",
        sa.BigInteger(),
        sa.ForeignKey("buckets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.LargeBinary(), primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False),
    sa.Column("sharing", sa.Text(), nullable=True),  # JSON: {"read": [...], "write": [...]}
    sa.Column("public_id", sa.String(255), nullable=True),
    sa.Column("delete_at", sa.Double(), nullable=True),
    sqlite_with_rowid=False,
)
# resolve_public, and one path per public id.
PUBLIC = paths.c.public_id.is_not(None)
sa.Index(
    "uq_paths_public_id",
    paths.c.public_id,
    unique=True,
    sqlite_where=PUBLIC,
    postgresql_where=PUBLIC,
)

versions = sa.Table(
    "versions",
    metadata,
    # Assigned at insert and increasing across the store: the version order.
    sa.Column("serial", Serial, primary_key=True, autoincrement=True),
    sa.Column("bucket", sa.BigInteger(), sa.ForeignKey("buckets.id"), nullable=False),
    sa.Column("key", sa.LargeBinary(), nullable=False),
    sa.Column("version_id", sa.String(255), nullable=False),
    sa.Column("is_latest", sa.Boolean(), nullable=False),
    sa.Column("delete_marker", sa.Boolean(), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("etag", sa.String(255), nullable=False),
    sa.Column("modified", sa.Double(), nullable=False),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("user_name", sa.String(255), nullable=False),  # who wrote it
    sa.Column("content_type", sa.Text(), nullable=False),
    sa.Column("extents", sa.LargeBinary(), nullable=True),
    sa.Column("inline", sa.LargeBinary(), nullable=True),
    sa.Column("top_hash", sa.String(255), nullable=True),
    sa.Column("meta", sa.Text(), nullable=True),
    sa.Column("headers", sa.Text(), nullable=True),
    sa.Column("checksums", sa.Text(), nullable=True),
    sa.Column("checksum_type", sa.String(32), nullable=False),
    sa.Column("parts", sa.LargeBinary(), nullable=True),
    sa.Column("attrs", sa.Text(), nullable=True),  # JSON: tags, acl, lock, sse, hashmap (codec)
    sa.Column("policy", POLICY, nullable=False, server_default=DEFAULT_POLICY),
    sqlite_autoincrement=True,  # never reuse a serial, even the highest one deleted
)

# The latest version of a key is always its newest (highest serial): a put
# inserts the newest, a delete promotes the newest remaining. `is_latest`
# repeats that fact so the listing index can hold current objects only.
# Queries must use this same expression, or SQLite will not use that index.
LISTED = sa.and_(versions.c.is_latest == sa.true(), versions.c.delete_marker == sa.false())

# A version id names one version of one key. The key comes last so that this
# index offers no key range: SQLite's planner, which has no statistics, would
# otherwise pick it for listings over the two below.
sa.Index(
    "uq_versions_bucket_version_id_key",
    versions.c.bucket,
    versions.c.version_id,
    versions.c.key,
    unique=True,
)
# Versions by key, newest first within a key: the latest version, list_versions,
# promotion after a delete, and list_objects_at (a key's newest version not
# after T is the first entry with modified <= T). serial DESC, so that one
# forward scan gives that order.
sa.Index(
    "ix_versions_bucket_key_serial", versions.c.bucket, versions.c.key, versions.c.serial.desc()
)
# list_objects: a range scan over current objects only, so its cost follows `limit`.
sa.Index(
    "ix_versions_listing",
    versions.c.bucket,
    versions.c.key,
    sqlite_where=LISTED,
    postgresql_where=LISTED,
)
# At most one latest version per key, enforced by the database where several
# processes write at once (PostgreSQL). The store also serializes the writers
# of one key (`_lock_key`), so this index is a guarantee, not a source of
# errors. SQLite lets one writer in at a time, and its planner, which has no
# statistics, would weigh this index against the listing index above.
sa.Index(
    "uq_versions_latest",
    versions.c.bucket,
    versions.c.key,
    unique=True,
    postgresql_where=versions.c.is_latest,
).ddl_if(dialect="postgresql")

uploads = sa.Table(
    "uploads",
    metadata,
    # Creation order of uploads, which list_uploads sorts by within a key.
    sa.Column("serial", Serial, primary_key=True, autoincrement=True),
    sa.Column(
        "bucket",
        sa.BigInteger(),
        sa.ForeignKey("buckets.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("upload_id", sa.String(255), nullable=False),
    sa.Column("key", sa.LargeBinary(), nullable=False),
    sa.Column("initiated", sa.Double(), nullable=False),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("content_type", sa.Text(), nullable=False),
    sa.Column("meta", sa.Text(), nullable=True),
    sa.Column("headers", sa.Text(), nullable=True),
    sa.Column("checksum_algorithm", sa.String(32), nullable=False),
    sa.Column("checksum_type", sa.String(32), nullable=False),
    sa.Column("attrs", sa.Text(), nullable=True),
    sa.Column("policy", POLICY, nullable=False, server_default=DEFAULT_POLICY),
    sa.UniqueConstraint("bucket", "upload_id"),
    sa.Index("ix_uploads_bucket_key_serial", "bucket", "key", "serial"),
    sqlite_autoincrement=True,
)

parts = sa.Table(
    "parts",
    metadata,
    sa.Column("bucket", sa.BigInteger(), primary_key=True),
    sa.Column("upload_id", sa.String(255), primary_key=True),
    sa.Column("number", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("etag", sa.String(255), nullable=False),
    sa.Column("modified", sa.Double(), nullable=False),
    sa.Column("extents", sa.LargeBinary(), nullable=True),
    sa.Column("checksums", sa.Text(), nullable=True),
    sa.Column("policy", POLICY, nullable=False, server_default=DEFAULT_POLICY),
    sa.ForeignKeyConstraint(
        ["bucket", "upload_id"], ["uploads.bucket", "uploads.upload_id"], ondelete="CASCADE"
    ),
)

# Every block of every storage policy that a version or a part references, or
# that a writer has leased: `refs` counts the references (each extent once)
# and changes in the transaction that adds or removes them. A block with no
# references and no live lease is garbage; `doomed` is when the collector
# marked it for deletion (NULL: not marked), and a writer may not lease it
# until the collector has deleted it and dropped this row.
block_refs = sa.Table(
    "block_refs",
    metadata,
    sa.Column("policy", POLICY, primary_key=True),
    sa.Column("digest", sa.LargeBinary(), primary_key=True),
    sa.Column("refs", sa.BigInteger(), nullable=False),
    sa.Column("doomed", sa.Double(), nullable=True),
)
# The garbage, and only it: the collector's work follows its size.
UNREFERENCED = block_refs.c.refs == sa.literal_column("0")
sa.Index(
    "ix_block_refs_garbage",
    block_refs.c.policy,
    block_refs.c.digest,
    sqlite_where=UNREFERENCED,
    postgresql_where=UNREFERENCED,
)

# Leases of background work (MetaStore.hold_lease): one row per kind of work,
# naming the process doing it until `expires`.
job_leases = sa.Table(
    "job_leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(255), nullable=False),
    sa.Column("expires", sa.Double(), nullable=False),
)

# A writer's claim on a block between storing it and committing the metadata
# that references it; it ends at `expires` (writers renew long uploads).
block_leases = sa.Table(
    "block_leases",
    metadata,
    sa.Column("policy", POLICY, primary_key=True),
    sa.Column("digest", sa.LargeBinary(), primary_key=True),
    sa.Column("holder", sa.String(64), primary_key=True),
    sa.Column("expires", sa.Double(), nullable=False),
    sa.Index("ix_block_leases_expires", "expires"),
)

# The change log: one row per change, written in the change's transaction.
# The resource columns hold what applies to the action (see model.Change).
# Consumers read it by serial and must never find a lower serial committing
# after a higher one: SQLite's single writer gives that order; a database
# with concurrent writers serialises the append (changelog.append).
changes = sa.Table(
    "changes",
    metadata,
    sa.Column("serial", Serial, primary_key=True, autoincrement=True),
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
    sqlite_autoincrement=True,  # a serial is never reused, so a cursor never skips one
)

# How far each consumer of the change log (event delivery, audit, ...) has got.
cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("consumer", sa.String(255), primary_key=True),
    sa.Column("serial", sa.BigInteger(), nullable=False),
)

# The config epoch (MetaStore.config_epoch): one row, moved on by triggers in
# the transaction of every change to the tables below. A container's usage
# columns change with every object write and are left out.
config_epoch = sa.Table(
    "config_epoch",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("n", sa.BigInteger(), nullable=False),
)
EPOCH_TABLES = (
    "tenants",
    "users",
    "access_keys",
    "buckets",
    "bucket_names",
    "accounts",
    "account_groups",
    "user_policies",
    "group_policies",
)
_BUCKET_SETTINGS = ", ".join(c.name for c in buckets.c if c.name not in ("id", "bytes", "objects"))
_BUMP = "UPDATE config_epoch SET n = n + 1"
# On PostgreSQL the bump also notifies this channel (at commit, once per
# transaction), so that servers listening need not read the epoch at every
# request (backends/pg_epoch.py).
CONFIG_CHANNEL = "dolium_config_epoch"
PG_BUMP_FUNCTION = (
    "CREATE OR REPLACE FUNCTION config_epoch_bump() RETURNS trigger LANGUAGE plpgsql"
    f" AS $$ BEGIN {_BUMP}; PERFORM pg_notify('{CONFIG_CHANNEL}', ''); RETURN NULL; END $$"
)


def epoch_triggers(
    dialect: str, tables: tuple[str, ...] = EPOCH_TABLES, *, function: bool = True
) -> list[str]:
    """The DDL of the triggers that move the config epoch, for `dialect`.

    A migration that adds tables to EPOCH_TABLES passes just those, and
    `function=False` on PostgreSQL, where the function exists already.
    """
    statements = []
    if dialect == "postgresql" and function:
        statements.append(PG_BUMP_FUNCTION)
    for table in tables:
        update = f"UPDATE OF {_BUCKET_SETTINGS}" if table == "buckets" else "UPDATE"
        if dialect == "postgresql":
            statements.append(
                f"CREATE TRIGGER {table}_epoch AFTER INSERT OR DELETE OR {update} ON {table}"
                " FOR EACH STATEMENT EXECUTE FUNCTION config_epoch_bump()"
            )
            continue
        for event in ("INSERT", "DELETE", update):
            name = f"{table}_epoch_{event.split()[0].lower()}"
            statements.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {_BUMP}; END")
    return statements


for _dialect in ("sqlite", "postgresql"):
    for _ddl in epoch_triggers(_dialect):
        _trigger = sa.DDL(_ddl)  # type: ignore[no-untyped-call]
        sa.event.listen(metadata, "after_create", _trigger.execute_if(dialect=_dialect))
