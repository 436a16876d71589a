"""Live `dolium serve` processes whose meta store is a PostgreSQL database."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from conftest import (
    DOLIUM,
    ROOT_KEY,
    ROOT_SECRET,
    LiveServer,
    free_port,
    stop_server,
    wait_listening,
)


def postgres_env(dsn: str, blocks: Path | None = None) -> dict[str, str]:
    """The settings that put a server's metadata in the database at `dsn`
    (and its blocks in `blocks`, when given, instead of its data directory)."""
    env = {"DOLIUM_META": "postgres", "DOLIUM_META_OPTIONS": json.dumps({"dsn": dsn})}
    if blocks is not None:
        env["DOLIUM_BLOB_OPTIONS"] = json.dumps({"root": str(blocks)})
    return env


@dataclass
class PostgresServer(LiveServer):
    env: dict[str, str] = field(default_factory=dict)

    def admin(self, *args: str) -> str:
        """A `dolium` command on this server's database."""
        result = subprocess.run(
            [DOLIUM, *args, "--data", str(self.data)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **self.env},
        )
        return result.stdout


def start(data: Path, name: str, env: dict[str, str]) -> PostgresServer:
    """`dolium serve` on `data`, logging to `name`.log beside it."""
    port = free_port()
    log = data.parent / f"{name}.log"
    full = {
        **os.environ,
        "DOLIUM_ROOT_ACCESS_KEY": ROOT_KEY,
        "DOLIUM_ROOT_SECRET_KEY": ROOT_SECRET,
        "DOLIUM_GC_INTERVAL": "0",
        **env,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [DOLIUM, "serve", "--data", str(data), "--listen", f"127.0.0.1:{port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full,
        )
    try:
        wait_listening(port, process, log)
    except BaseException:
        process.kill()
        process.wait()
        raise
    endpoint = f"http://127.0.0.1:{port}"
    return PostgresServer(endpoint, "127.0.0.1", port, data, process, log, env=env)


@contextmanager
def servers(
    root: Path, dsn: str, count: int, extra: dict[str, str] | None = None
) -> Iterator[list[PostgresServer]]:
    """`count` servers sharing the database at `dsn`, one block directory and
    one directory of secrets, each with a data directory of its own; stopped
    however the block ends.

    They start one after the other, each once the one before it listens.
    """
    env = {
        **postgres_env(dsn, root / "blocks"),
        "DOLIUM_SECRETS_DIR": str(root / "secrets"),
        **(extra or {}),
    }
    with ExitStack() as stack:
        started: list[PostgresServer] = []
        for n in range(count):
            live = start(root / f"data{n}", f"server{n}", env)
            stack.callback(stop_server, live)
            started.append(live)
        yield started
