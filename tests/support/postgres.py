"""A PostgreSQL server for the tests, and a fresh database for each user of it.

With `DOLIUM_TEST_POSTGRES` set to a DSN (postgresql://USER:PASS@HOST:PORT/DB,
a role that may create databases), the databases are made on that server and
dropped when the tests end. Otherwise a throwaway cluster is made with the
installed `initdb` and `pg_ctl` in a temporary directory, on a free port of
127.0.0.1 and a socket directory of its own, so it never meets a server
already running on the machine; it is stopped and removed when the tests end.

The throwaway cluster collates text by ICU's en-US rules, as many real
databases do, so a listing that forgot byte order would show it. PostgreSQL
refuses to run as root: under root, the cluster belongs to the `postgres`
user (or `nobody`), and its programs run as that user.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

ENV = "DOLIUM_TEST_POSTGRES"


def _bindir() -> Path | None:
    """The newest installed PostgreSQL's programs (Debian keeps them off PATH)."""
    found = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0),
    )
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


class Postgres:
    """A server the tests may create databases on."""

    def __init__(self, admin_dsn: str, psql: str, cleanup: Any) -> None:
        self.admin_dsn = admin_dsn  # a database to connect to for CREATE DATABASE
        self._psql = psql
        self._cleanup = cleanup
        self._prefix = f"dolium_test_{uuid.uuid4().hex[:8]}"
        self._made: list[str] = []
        self._by_label: dict[str, str] = {}

    def sql(self, statement: str, dsn: str | None = None) -> str:
        """Run one statement (psql) and return what it printed, unaligned."""
        quiet = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        result = subprocess.run(
            [self._psql, *quiet, "-c", statement, "-d", dsn or self.admin_dsn],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql {statement!r}: {result.stderr.strip()}")
        return result.stdout.strip()

    def database(self, label: str | None = None) -> str:
        """The DSN of a new, empty database; the same one again for the same `label`."""
        if label is not None and label in self._by_label:
            return self._by_label[label]
        name = f"{self._prefix}_{len(self._made)}"
        self.sql(f"CREATE DATABASE {name}")
        self._made.append(name)
        dsn = _with_database(self.admin_dsn, name)
        if label is not None:
            self._by_label[label] = dsn
        return dsn

    def close(self) -> None:
        self._cleanup(self)

    def drop_all(self) -> None:
        for name in self._made:
            with contextlib.suppress(RuntimeError):
                self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._made.clear()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _owner() -> pwd.struct_passwd | None:
    """The user the cluster runs as: None for the current one unless that is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL")


def _run_as(owner: pwd.struct_passwd | None, args: list[str], **kwargs: Any) -> None:
    if owner is not None:
        kwargs.update(user=owner.pw_uid, group=owner.pw_gid, extra_groups=[])
    subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)


def _throwaway(bindir: Path) -> Postgres:
    owner = _owner()
    root = Path(tempfile.mkdtemp(prefix="dolium-pg-"))
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, log = root / "data", root / "server.log"
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
    icu = ["--encoding=UTF8", "--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-US"]
    try:
        _run_as(owner, [*initdb, *icu], cwd=root)
    except subprocess.CalledProcessError:  # a build without ICU
        shutil.rmtree(data, ignore_errors=True)
        _run_as(owner, [*initdb, "--encoding=UTF8", "--locale=C.UTF-8"], cwd=root)
    port = _free_port()
    options = " ".join(
        [
            f"-p {port}",
            f"-k {root}",  # its own socket directory, not the system server's
            "-c listen_addresses=127.0.0.1",
            "-c max_connections=300",
            # A throwaway cluster: what these tests check is not survival of a power cut.
            "-c fsync=off",
            "-c full_page_writes=off",
        ]
    )
    pg_ctl = str(bindir / "pg_ctl")
    _run_as(owner, [pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start"])

    def stop(server: Postgres) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            _run_as(owner, [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)

    return Postgres(f"postgresql://postgres@127.0.0.1:{port}/postgres", str(bindir / "psql"), stop)


def _external(dsn: str, bindir: Path | None) -> Postgres:
    psql = str(bindir / "psql") if bindir is not None else shutil.which("psql")
    if psql is None:
        pytest.skip(f"{ENV} is set but no psql is installed")
    return Postgres(dsn, psql, Postgres.drop_all)


_started: list[Postgres] = []  # the one server of this test run, once started


def postgres() -> Postgres:
    """The tests' PostgreSQL, started on first use and stopped when the tests end;
    skips the calling test when there is none to be had."""
    if not _started:
        bindir = _bindir()
        dsn = os.environ.get(ENV)
        if dsn:
            server = _external(dsn, bindir)
        elif bindir is None:
            pytest.skip(f"PostgreSQL is not installed (apt-get install postgresql) and {ENV} unset")
        else:
            server = _throwaway(bindir)
        atexit.register(server.close)
        _started.append(server)
    return _started[0]
