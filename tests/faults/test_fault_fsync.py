"""fsync failing with EIO, under the block store or under the meta database.

A small LD_PRELOAD shim, compiled here, makes fsync and fdatasync fail with
EIO for files under a chosen path while a trigger file exists. A write whose
data could not be made durable must never be acknowledged: the PUT fails
with a 5xx, and the version before it stays the one that is read.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_support import bucket_with, failure, temp_files

from support.blocks import SMALL_BLOCKS, data_of
from support.live import LiveServer, running

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* True when the trigger file exists and fd names a file under the prefix. */
static int failing(int fd) {
    const char *trigger = getenv("FAULT_TRIGGER");
    const char *prefix = getenv("FAULT_PREFIX");
    char link[64], path[4096];
    ssize_t n;
    if (trigger == NULL || prefix == NULL || access(trigger, F_OK) != 0)
        return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof path - 1);
    if (n < 0)
        return 0;
    path[n] = '\0';
    return strncmp(path, prefix, strlen(prefix)) == 0;
}

int fsync(int fd) {
    static int (*real)(int);
    if (failing(fd)) { errno = EIO; return -1; }
    if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (failing(fd)) { errno = EIO; return -1; }
    if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real(fd);
}
"""


@pytest.fixture(scope="module")
def shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler (gcc) to build the fsync fault shim")
    build = tmp_path_factory.mktemp("shim")
    source = build / "eio_fsync.c"
    source.write_text(SHIM)
    library = build / "eio_fsync.so"
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-O2", "-o", str(library), str(source), "-ldl"],
        check=True,
        capture_output=True,
    )
    return library


class Faulty:
    """A live server whose fsyncs under `prefix` fail while `trigger` exists."""

    def __init__(self, server: LiveServer, trigger: Path) -> None:
        self.server = server
        self.trigger = trigger

    def fail(self) -> None:
        self.trigger.touch()

    def heal(self) -> None:
        self.trigger.unlink()


def faulty_server(tmp_path: Path, shim: Path, under: str) -> Iterator[Faulty]:
    data = tmp_path / "data"
    trigger = tmp_path / "fsync-fails"
    env = {
        **SMALL_BLOCKS,
        "LD_PRELOAD": str(shim),
        "FAULT_TRIGGER": str(trigger),
        # /proc/self/fd names resolved paths.
        "FAULT_PREFIX": str(data.resolve() / under),
    }
    with running(data, env) as server:
        yield Faulty(server, trigger)


@pytest.fixture
def blocks_fault(tmp_path: Path, shim: Path) -> Iterator[Faulty]:
    yield from faulty_server(tmp_path, shim, "blocks")


@pytest.fixture
def meta_fault(tmp_path: Path, shim: Path) -> Iterator[Faulty]:
    yield from faulty_server(tmp_path, shim, "meta.sqlite3")


def test_block_fsync_failure_fails_the_put(blocks_fault: Faulty) -> None:
    old = data_of(3 * 64 * 1024 + 5, "old")
    s3 = bucket_with(blocks_fault.server, "fsync-blocks", "obj", old)

    blocks_fault.fail()
    new = data_of(3 * 64 * 1024 + 5, "new")
    status, code = failure(lambda: s3.put_object(Bucket="fsync-blocks", Key="obj", Body=new))
    assert (status, code) == (500, "InternalError")
    upload = s3.create_multipart_upload(Bucket="fsync-blocks", Key="obj")["UploadId"]
    status, _ = failure(
        lambda: s3.upload_part(
            Bucket="fsync-blocks", Key="obj", UploadId=upload, PartNumber=1, Body=new
        )
    )
    assert status == 500

    assert s3.get_object(Bucket="fsync-blocks", Key="obj")["Body"].read() == old
    assert temp_files(blocks_fault.server.data / "blocks") == []
    log = blocks_fault.server.log.read_text()
    assert "Input/output error" in log
    assert "Traceback" not in log

    blocks_fault.heal()
    s3.put_object(Bucket="fsync-blocks", Key="obj", Body=new)
    assert s3.get_object(Bucket="fsync-blocks", Key="obj")["Body"].read() == new


def test_meta_fsync_failure_fails_the_put(meta_fault: Faulty) -> None:
    s3 = bucket_with(meta_fault.server, "fsync-meta", "inline", b"old inline")
    s3.put_object(Bucket="fsync-meta", Key="blocks", Body=data_of(200_000, "old"))

    meta_fault.fail()
    for key, body in (("inline", b"new inline"), ("blocks", data_of(200_000, "new"))):
        status, code = failure(
            lambda key=key, body=body: s3.put_object(Bucket="fsync-meta", Key=key, Body=body)
        )
        assert status >= 500, (key, status, code)
    status, _ = failure(lambda: s3.delete_object(Bucket="fsync-meta", Key="inline"))
    assert status >= 500

    assert s3.get_object(Bucket="fsync-meta", Key="inline")["Body"].read() == b"old inline"
    got = s3.get_object(Bucket="fsync-meta", Key="blocks")["Body"].read()
    assert got == data_of(200_000, "old")
    assert "Traceback" not in meta_fault.server.log.read_text()

    meta_fault.heal()
    s3.put_object(Bucket="fsync-meta", Key="inline", Body=b"new inline")
    assert s3.get_object(Bucket="fsync-meta", Key="inline")["Body"].read() == b"new inline"
