"""Other S3 servers, run on the same machine with the same client and workloads.

moto's server (Python, werkzeug; in a venv of its own so its dependencies
never meet Dolium's) and s3rver (Node.js, objects in files). `make bench`
installs both under .bench-tools/; a server that is not installed is
reported as missing and the bench goes on without it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness import HOST, Server, free_port, serving

TOOLS = Path(__file__).resolve().parent.parent / ".bench-tools"
MOTO = TOOLS / "moto-venv" / "bin" / "moto_server"
S3RVER = TOOLS / "node_modules" / "s3rver" / "bin" / "s3rver.js"
# s3rver's only account: it checks signatures against this key pair.
S3RVER_CREDENTIALS = ("S3RVER", "S3RVER")
# moto accepts any key pair; one that looks like AWS's.
MOTO_CREDENTIALS = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

NAMES = ("moto", "s3rver")


def missing(name: str) -> str | None:
    """Why reference server `name` cannot run here, or None if it can."""
    if name == "moto" and not MOTO.exists():
        return f"moto not installed ({MOTO} missing; `make bench-tools` installs it)"
    if name == "s3rver":
        if not S3RVER.exists():
            return f"s3rver not installed ({S3RVER} missing; `make bench-tools` installs it)"
        if not any((Path(d) / "node").exists() for d in os.environ.get("PATH", "").split(":")):
            return "s3rver needs node on PATH"
    return None


@contextmanager
def reference_server(name: str, workdir: Path) -> Iterator[Server]:
    """Start reference server `name` on a free port of 127.0.0.1, data under `workdir`."""
    port = free_port()
    env = dict(os.environ)
    if name == "moto":
        argv = [str(MOTO), "-H", HOST, "-p", str(port)]
        credentials = MOTO_CREDENTIALS
        data = None
    elif name == "s3rver":
        data = workdir / "s3rver-data"
        data.mkdir(parents=True, exist_ok=True)
        argv = ["node", str(S3RVER), "-d", str(data), "-a", HOST, "-p", str(port), "--silent"]
        credentials = S3RVER_CREDENTIALS
    else:
        raise ValueError(f"unknown reference server {name!r} (known: {', '.join(NAMES)})")
    log = workdir / f"{name}.log"
    with serving(name, argv, port, log, env, data, credentials) as server:
        yield server
