"""The composition root: config in, a running server out.

The only module that knows every layer: it opens the back ends named in the
config, builds the core over them, mounts the S3 and Swift front ends (Swift
by path: `/auth/v1.0`, `/info`, `/v1/...`; S3 everything else), and runs the
garbage collector, the lifecycle worker, event delivery and the scrubber in the
background.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dolium import logs
from dolium.backends import audit_key, direct_buffers
from dolium.backends.keys_meta import MetaKeyStore
from dolium.backends.kms_file import FileMasterKeys
from dolium.backends.spool_fs import FsSpool
from dolium.backends.spool_memory import MemorySpool
from dolium.config import AUDIT_OFF, Config
from dolium.core.access.authorizer import Authorizer
from dolium.core.access.cached_keys import CachedKeyStore
from dolium.core.access.meta_sharing import MetaSharingLookup
from dolium.core.access.outside_keys import OutsideKeyStore
from dolium.core.access.s3_evaluator import S3Evaluator
from dolium.core.access.sharing import SharingEvaluator
from dolium.core.access.swift_account_acl import SwiftAccountAclEvaluator
from dolium.core.access.swift_acl import SwiftAclEvaluator
from dolium.core.audit.checkpoint import Signer, log_signer
from dolium.core.audit.log import AuditLog, seal_forever
from dolium.core.audit.reader import AuditReader
from dolium.core.context import Context, Settings
from dolium.core.jobs.lease import JobsLease
from dolium.core.jobs.lifecycle import LifecycleWorker
from dolium.core.operations.jobs import Jobs
from dolium.core.store import Store
from dolium.frontends.admin import probes
from dolium.frontends.admin.access_log import AccessLog
from dolium.frontends.admin.app import AdminApp, is_admin_path
from dolium.frontends.admin.metrics import METRICS_DIR_ENV, RequestMetrics
from dolium.frontends.admin.observed import ASGIApp, Observer, measured
from dolium.frontends.iam.app import IamApp, is_iam_request
from dolium.frontends.iam.errors import IamError
from dolium.frontends.s3.app import S3App, S3Settings
from dolium.frontends.s3.auth.services import verify_service
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.wire import events
from dolium.frontends.s3.wire.http import Receive, Scope, Send
from dolium.frontends.swift.app import SwiftApp, is_swift_path
from dolium.frontends.swift.tokens import TokenSigner
from dolium.memory import trim_forever
from dolium.model import DEFAULT_POLICY, Principal
from dolium.plugins import (
    open_audit,
    open_key_service,
    open_keys,
    open_meta,
    open_policies,
    open_reporters,
)
from dolium.protocols.keys import KeyStore
from dolium.protocols.meta import MetaStore
from dolium.protocols.spool import Spool
from dolium.server_jobs import (
    collect_once,
    deliver_bucket_logs,
    every,
    operator_jobs,
    scrub_once,
)
from dolium.workers import JOBS_RETRY, STARTUP_FAILURE, JobsLock, bind, run_workers

log = logging.getLogger("dolium")

# Seconds between passes of event delivery over the change log; a write to a
# bucket with a notification configuration also runs one at once.
DELIVERY_INTERVAL = 1.0


def open_kms(config: Config) -> FileMasterKeys:
    """The SSE-S3 master keys: a keyring file among the shared secrets, made at first use."""
    return FileMasterKeys(config.secrets / "keyring.json")


# The secret Swift auth tokens are signed with: among the shared secrets, so
# every worker process (and every server sharing them) accepts a token any
# of them issued.
SWIFT_TOKEN_SECRET = "swift-token-secret"  # noqa: S105 - a file name, not a secret
# Paths the Swift front end serves start with one of these; S3 requests are
# told apart by this one prefix check (then `is_swift_path` decides exactly).
SWIFT_PREFIXES = ("/v1/", "/auth/", "/info")


def swift_token_secret(directory: Path) -> bytes:
    """The token secret kept in `directory`, made at first use (mode 0600).

    Written to a temporary file and linked into place, so that workers
    starting at once all end up reading the one secret that won.
    """
    path = directory / SWIFT_TOKEN_SECRET
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{SWIFT_TOKEN_SECRET}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process got there first: its secret stands
        finally:
            tmp.unlink()
    return path.read_bytes().strip()


def core_settings(config: Config) -> Settings:
    return Settings(
        block_size=config.block_size,
        inline_threshold=config.inline_threshold,
        gc_grace=config.gc_grace,
        region=config.region or "us-east-1",
        default_policy=config.default_policy,
    )


def build_authorizer(meta: MetaStore) -> Authorizer:
    """S3 ACLs and bucket policies decide; Pithos sharing and Swift container
    and account ACLs may allow what they leave refused."""
    sharing = SharingEvaluator(MetaSharingLookup(meta))
    return Authorizer(
        [S3Evaluator()], grantors=[SwiftAclEvaluator(), SwiftAccountAclEvaluator(meta), sharing]
    )


async def build_store(config: Config) -> Store:
    meta = await open_meta(config)
    policies = await open_policies(config)
    settings = core_settings(config)
    # Reporters start delivering what their outboxes hold as they open.
    reporters = await open_reporters(config)
    kms = open_kms(config)
    keys = await open_key_service(config)
    # Event names and messages in S3's words.
    ctx = Context(
        meta=meta,
        blobs=policies[DEFAULT_POLICY],
        policies=policies,
        clock=time.time,
        settings=settings,
        reporters=reporters,
        events=events.S3_EVENTS,
        kms=kms,
        keys=keys,
        authorizer=build_authorizer(meta),
        spool=open_spool(config),
    )
    return Store(ctx)


async def build_keys(config: Config, store: Store) -> KeyStore:
    """The key store `[keys]` names, as the front ends ask it: keys of the meta
    store behind the config-epoch cache; keys of another store first, with
    their accounts in the meta store and the meta store's keys after them
    (core.access.outside_keys)."""
    ctx = store.ctx
    opened = await open_keys(config, ctx.meta)
    if config.keys.use == "meta":
        return CachedKeyStore(opened, ctx.caches, ctx.meta)
    inside = CachedKeyStore(MetaKeyStore(ctx.meta), ctx.caches, ctx.meta)
    return OutsideKeyStore(opened, inside, ctx.meta, ctx.caches, ctx.clock)


def open_spool(config: Config) -> Spool:
    """Where server access log lines wait: files every worker shares, or memory
    for a server on a memory store (one process)."""
    if config.meta.use == "memory":
        return MemorySpool()
    return FsSpool(config.data_dir / "access-log-spool")


# IAM's codes for the signature faults the SigV4 verifier reports in S3's.
_IAM_SIGNATURE_CODES = {"InvalidAccessKeyId": "InvalidClientTokenId"}


class IamSignatures:
    """The IAM front end's verifier: the S3 front end's SigV4, for service `iam`
    (front ends do not import each other; this module joins them)."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    async def __call__(
        self,
        method: str,
        raw_path: bytes,
        query: bytes,
        headers: list[tuple[str, str]],
        body_sha256: str,
    ) -> Principal:
        try:
            return await verify_service(
                self.keys, "iam", method, raw_path, query, headers, body_sha256
            )
        except S3Error as exc:
            code = _IAM_SIGNATURE_CODES.get(exc.code, exc.code)
            raise IamError(exc.status, code, exc.message) from None


class Server:
    """ASGI application: opens the stores at startup, closes them at shutdown."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.store: Store | None = None
        self.s3: S3App | None = None
        self.swift: SwiftApp | None = None
        self.admin: AdminApp | None = None
        self.iam: IamApp | None = None
        self.keys: KeyStore | None = None
        self.probes: probes.Probes | None = None
        self.metrics: RequestMetrics | None = None
        # What watches each request: the metrics, the access log.
        self.observers: list[Observer] = []
        self.operator_jobs: Jobs | None = None
        self.audit: AuditReader | None = None
        self._jobs: asyncio.Task[None] | None = None
        self._trim: asyncio.Task[None] | None = None
        self._flush: asyncio.Task[None] | None = None
        self.jobs_lease: JobsLease | None = None
        self._jobs_lock = JobsLock(config.data_dir)

    async def startup(self) -> None:
        self.store = await build_store(self.config)
        keys = self.keys = await build_keys(self.config, self.store)
        settings = S3Settings(
            region=self.config.region or None,
            domains=tuple(self.config.domains),
            website_domains=tuple(self.config.website_domains),
            sse_c_require_tls=self.config.sse_c_require_tls,
            sse_kms_require_tls=self.config.sse_kms_require_tls,
            storage_classes=dict(self.config.storage_classes),
        )
        self.s3 = S3App(self.store, keys, settings)
        signer = TokenSigner(swift_token_secret(self.config.secrets))
        policies = sorted(self.store.ctx.policies)
        self.swift = SwiftApp(self.store, keys, signer, policies, self.config.default_policy)
        self.operator_jobs = operator_jobs(self.store.ctx, self.config)
        self.audit = self._audit_reader()
        self.admin = AdminApp(
            self.store, keys, self.config.region or None, self.operator_jobs, self.audit
        )
        self.iam = IamApp(self.store, IamSignatures(keys))
        if self.config.metrics:
            shared = os.environ.get(METRICS_DIR_ENV)
            self.metrics = RequestMetrics(
                Path(shared) if shared else None, events=self.store.delivery.counters
            )
            self._flush = asyncio.create_task(self.metrics.flush_forever())
            self.observers.append(self.metrics)
            self.probes = probes.Probes(
                self.store, self.metrics, self.operator_jobs, token=self.config.metrics_token,
                workers=self.config.workers or 1,
            )  # fmt: skip
        if self.config.access_log:
            self.observers.append(AccessLog())
        self._jobs = asyncio.create_task(self._run_jobs())
        # Direct-I/O buffers unused for a second go back with the heap.
        self._trim = asyncio.create_task(
            trim_forever(also=(functools.partial(direct_buffers.release_idle, 1.0),))
        )

    async def _run_jobs(self) -> None:
        """The background jobs, in the one process of all those sharing the meta
        store that holds the jobs lease (see core.jobs.lease)."""
        assert self.store is not None
        ttl = self.config.jobs_lease
        self.jobs_lease = JobsLease(
            self.store.ctx.meta, self.store.ctx.clock, ttl=ttl, retry=ttl / 3
        )
        await asyncio.gather(self.jobs_lease.run(self._jobs_forever), self._local_jobs())

    async def _local_jobs(self) -> None:
        """What belongs to this data directory (its spool of access log records),
        in the one process that holds its jobs lock (see dolium.workers)."""
        assert self.store is not None
        if self.config.bucket_log_interval <= 0:
            return
        # The holder may end at any time, with no one to tell: poll.
        while not self._jobs_lock.try_take():  # noqa: ASYNC110
            await asyncio.sleep(JOBS_RETRY)
        store = self.store
        await every(self.config.bucket_log_interval, "server access log delivery",
                    lambda: deliver_bucket_logs(store))  # fmt: skip

    async def _jobs_forever(self) -> None:
        assert self.store is not None
        # Also delivers what a previous run committed but had not delivered.
        jobs = [self.store.delivery.run_forever(DELIVERY_INTERVAL)]
        ctx, config = self.store.ctx, self.config
        if config.gc_interval > 0:
            jobs.append(every(config.gc_interval, "garbage collection",
                              lambda: collect_once(ctx, config)))  # fmt: skip
        if self.config.lifecycle_interval > 0:
            offset = self.config.clock_offset
            worker = LifecycleWorker(
                ctx, clock=lambda: ctx.clock() + offset, day=self.config.lifecycle_day
            )
            jobs.append(worker.run_forever(self.config.lifecycle_interval))
        if self.audit is not None:
            jobs.append(self._audit_forever())
        if config.scrub_interval > 0:
            jobs.append(every(config.scrub_interval, "scrub", lambda: scrub_once(ctx, config)))
        await asyncio.gather(*jobs)

    def _audit_reader(self) -> AuditReader | None:
        """The audit log as the admin API reads it, in every worker (opened on first
        use); None when off."""
        config = self.config
        if config.audit is None or config.audit.use == AUDIT_OFF:
            return None
        assert self.store is not None

        async def opener() -> tuple[AuditLog, Signer]:
            path = audit_key.path_in(config.secrets)
            key = await asyncio.to_thread(audit_key.load_or_create, path)
            return AuditLog(await open_audit(config)), log_signer(key)

        return AuditReader(opener, self.store.ctx.clock)

    async def _audit_forever(self) -> None:
        """Seal the change log into the audit log, and sign its heads (core.audit.log),
        through the log this process reads for the admin API (a memory store is
        one object, which both must share)."""
        assert self.store is not None and self.audit is not None
        log, signer = await self.audit.opened()
        await seal_forever(
            log,
            self.store.ctx.meta,
            signer,
            checkpoint_interval=self.config.audit_checkpoint_interval,
            clock=self.store.ctx.clock,
        )

    async def shutdown(self) -> None:
        for task in (self._jobs, self._trim, self._flush):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._jobs_lock.release()
        if self.metrics is not None:
            with contextlib.suppress(OSError):
                self.metrics.flush()  # this worker's last totals outlive it
        if self.operator_jobs is not None:
            await self.operator_jobs.close()
        if self.audit is not None:
            await self.audit.close()
        if self.keys is not None:
            await self.keys.close()
        if self.store is not None:
            await self.store.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert self.s3 is not None and self.swift is not None, "server not started"
        assert self.admin is not None and self.iam is not None
        path = scope["path"]
        app: ASGIApp
        # Other methods on these paths are S3's, which refuses them as bucket names.
        if path in probes.PATHS and scope["method"] in ("GET", "HEAD") and self.probes:
            await self.probes(scope, receive, send)
            return
        if path.startswith(SWIFT_PREFIXES) and is_swift_path(path):
            api, app = "swift", self.swift
        elif is_admin_path(path):
            api, app = "admin", self.admin
        elif path == "/" and is_iam_request(scope):
            api, app = "iam", self.iam
        else:
            api, app = "s3", self.s3
        if self.observers:
            await measured(api, app, scope, receive, send, self.observers)
        else:
            await app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    raise
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def serve(config: Config) -> None:
    """Run the server until interrupted (blocking)."""
    import uvicorn

    from dolium.serving import bounded_protocol

    host, _, port = config.listen.rpartition(":")
    logs.configure(config.log_level, config.log_format)
    # httpx logs every request at INFO: one line per event a webhook delivers.
    # The webhook reporter logs failures itself.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.root.level))
    options: dict[str, Any] = {
        "lifespan": "on",
        "log_level": config.log_level,
        # Its loggers go through ours (dolium.logs), in the configured format.
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "timeout_keep_alive": 30,
        # httptools, with bounds on the size and time of request heads
        "http": bounded_protocol(config.head_timeout),
        "loop": "uvloop",
    }
    sock = bind(host.strip("[]"), int(port))

    def serve_one() -> None:
        server = uvicorn.Server(uvicorn.Config(Server(config), **options))
        server.run(sockets=[sock])
        if not server.started:
            raise SystemExit(STARTUP_FAILURE)

    workers = config.workers or 1  # the config's validation has chosen the default
    # Each worker's request counters go to a file in one directory, which a
    # scrape of any worker adds up (frontends.admin.metrics); made before the
    # workers start, and removed with the server.
    metrics_dir = tempfile.mkdtemp(prefix="dolium-metrics-")
    os.environ[METRICS_DIR_ENV] = metrics_dir
    try:
        if workers == 1:
            serve_one()
        else:
            sys.exit(run_workers(workers, serve_one))
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
