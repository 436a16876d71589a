"""4 KiB PUT, GET, HEAD and DELETE at several concurrencies, driven by wrk or loadgen.py.

Every request is a presigned SigV4 URL made before the clock starts, so the
client does no signing while it is timed: what is left is writing pre-built
bytes to keep-alive sockets and reading the answers. The same requests go
to every server; the bare app (sink.py) answers GET with a 4 KiB body when
the key's first segment is 4096, which is how every key here starts.

For each concurrency c: PUT `ops` new keys with distinct random bodies, GET
each of them (a body of another length is an error), HEAD each, DELETE each.
A few objects are read back through boto3 and compared byte for byte.

The timed runs go through the load generator chosen (GENERATORS: wrk
through wrkgen.py, or loadgen.py); each case's figures name the one that
ran it, since wrkgen hands what wrk cannot send (HEAD) to loadgen.py. The
untimed warm-up always uses loadgen.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import loadgen
import wrkgen
from harness import CpuMeter, Server
from loadgen import LoadResult, Request, run_load

GENERATORS = {"wrk": wrkgen.run_load, "python": loadgen.run_load}

SIZE = 4096
OPS = ("PUT", "GET", "HEAD", "DELETE")
CLIENT_METHOD = {
    "PUT": "put_object",
    "GET": "get_object",
    "HEAD": "head_object",
    "DELETE": "delete_object",
    "LIST": "list_objects_v2",
}
BUCKET = "bench"
EXPIRES = 6 * 3600


def presigner(server: Server) -> Callable[..., str]:
    """presign(method, bucket, key=None, **params): the path and query of a presigned request."""
    client = server.client(0)

    def presign(method: str, bucket: str, key: str | None = None, **params: Any) -> str:
        params["Bucket"] = bucket
        if key is not None:
            params["Key"] = key
        url = client.generate_presigned_url(CLIENT_METHOD[method], Params=params, ExpiresIn=EXPIRES)
        parts = urlsplit(url)
        return f"{parts.path}?{parts.query}"

    return presign


def ensure_bucket(server: Server, bucket: str) -> None:
    client = server.client(0)
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket)


def figures(result: LoadResult, cpu: CpuMeter | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ops": result.ops,
        "seconds": round(result.seconds, 3),
        "ops_per_s": round(result.ops_per_s, 1),
        "p50_ms": round(result.pct(50), 2),
        "p99_ms": round(result.pct(99), 2),
        "errors": result.errors,
    }
    if result.first_error:
        out["first_error"] = result.first_error[:300]
    if cpu is not None:
        out.update(cpu.stop())
    return out


def _check_bodies(server: Server, keys: list[str], bodies: list[bytes]) -> str | None:
    """None if the first, middle and last objects read back as written, else what differs."""
    client = server.client(0)
    for i in {0, len(keys) // 2, len(keys) - 1}:
        got = client.get_object(Bucket=BUCKET, Key=keys[i])["Body"].read()
        if got != bodies[i]:
            return f"GET {keys[i]} returned {len(got)} bytes that differ from the PUT's"
    return None


def run_small(
    server: Server,
    concurrencies: tuple[int, ...],
    ops: int,
    seconds: float,
    procs: Callable[[int], int],
    *,
    bare: bool = False,
    requests_from: dict[int, dict[str, list[Request]]] | None = None,
    generator: str = "python",
) -> tuple[dict[str, Any], dict[int, dict[str, list[Request]]]]:
    """Figures per "OP/cC" for `server`, and the requests sent (reusable for the bare app).

    `procs(c)`: how many load generator processes drive concurrency c (loadgen.py's).
    `generator`: a key of GENERATORS, for the timed runs.
    `bare`: the server stores nothing, so nothing is read back or checked.
    """
    server.check_alive()
    host, port = "127.0.0.1", server.port
    if not bare:
        ensure_bucket(server, BUCKET)
    presign = presigner(server) if requests_from is None else None
    sent: dict[int, dict[str, list[Request]]] = {}
    out: dict[str, Any] = {}
    # Untimed warm-up: connections, caches, the first rows of the bucket.
    warm = [f"{SIZE}/warm-{i}" for i in range(64)]
    if presign is not None:
        run_load(
            host,
            port,
            [("PUT", presign("PUT", BUCKET, k), os.urandom(SIZE)) for k in warm],
            concurrency=16,
            count=len(warm),
        )
        run_load(
            host,
            port,
            [("GET", presign("GET", BUCKET, k), b"") for k in warm],
            concurrency=16,
            count=len(warm) * 4,
        )
    for c in concurrencies:
        if requests_from is not None:
            requests = requests_from[c]
        else:
            assert presign is not None
            keys = [f"{SIZE}/c{c}-{i:06d}" for i in range(ops)]
            bodies = [os.urandom(SIZE) for _ in keys]
            requests = {
                op: [
                    (op, presign(op, BUCKET, k), b if op == "PUT" else b"")
                    for k, b in zip(keys, bodies, strict=True)
                ]
                for op in OPS
            }
        sent[c] = requests
        for op in OPS:
            cpu = CpuMeter(server.process.pid)
            result = GENERATORS[generator](
                host,
                port,
                requests[op],
                concurrency=c,
                count=len(requests[op]),
                seconds=seconds,
                procs=procs(c),
                expect_length=SIZE if op == "GET" else None,
            )
            out[f"{op}/c{c}"] = figures(result, cpu)
            wrk = generator == "wrk" and wrkgen.sends(requests[op])
            out[f"{op}/c{c}"]["loadgen"] = "wrk" if wrk else "python"
            if op == "GET" and not bare and requests_from is None:
                problem = _check_bodies(server, keys, bodies)
                if problem:
                    out[f"{op}/c{c}"]["errors"] += 1
                    out[f"{op}/c{c}"]["first_error"] = problem
        server.check_alive()
    return out, sent
