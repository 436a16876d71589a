"""Message brokers for the tests: Redis, NATS (JetStream) and RabbitMQ.

By default each is a throwaway server started from the installed program
(`redis-server`, `nats-server`, RabbitMQ's `rabbitmq-server`) on a free port
of 127.0.0.1, with its data in a temporary directory; it is killed and its
directory removed when the test ends. A throwaway server can be killed
(SIGKILL) and started again on the same port and data, as a broker that
crashes and comes back.

With DOLIUM_TEST_REDIS, DOLIUM_TEST_NATS or DOLIUM_TEST_AMQP set to a URL,
the tests use that server instead (it cannot be restarted, so the tests
that kill a broker skip). A test skips when the program is missing and no
URL is set.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ENV = {"redis": "DOLIUM_TEST_REDIS", "nats": "DOLIUM_TEST_NATS", "amqp": "DOLIUM_TEST_AMQP"}
RABBITMQ = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # Debian's, without the wrapper that su's
START_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Broker:
    """A broker the tests publish to: its URL, and (throwaway ones) kill and start."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url

    @property
    def restartable(self) -> bool:
        return False

    def kill(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None


class Throwaway(Broker):
    """A broker process of the tests' own, in a session (process group) of its own."""

    def __init__(
        self, kind: str, url: str, port: int, root: Path, argv: list[str], env: dict[str, str]
    ) -> None:
        super().__init__(kind, url)
        self.port = port
        self.root = root
        self.argv = argv
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.cleanups: list[Callable[[], None]] = []  # end what it leaves behind

    @property
    def restartable(self) -> bool:
        return True

    def start(self) -> None:
        assert self.process is None, "already running"
        self.starts += 1
        log = self.root / f"{self.kind}-{self.starts}.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.root,
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its children (RabbitMQ's Erlang VM) die with it
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not _listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"{self.kind} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the broker and every process it started; wait until the port is free."""
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 10
        while _listening(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.kill()
        for cleanup in self.cleanups:
            cleanup()
        self.cleanups.clear()
        shutil.rmtree(self.root, ignore_errors=True)


def _redis(root: Path) -> Throwaway:
    port = _free_port()
    argv = [
        "redis-server",
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(root),
        "--save", "",
        # Every acknowledged XADD on disk before the answer: a killed Redis
        # comes back with every entry Dolium was told is stored.
        "--appendonly", "yes",
        "--appendfsync", "always",
        "--protected-mode", "no",
    ]  # fmt: skip
    return Throwaway("redis", f"redis://127.0.0.1:{port}/0", port, root, argv, {})


def _nats(root: Path) -> Throwaway:
    port = _free_port()
    argv = ["nats-server", "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(root / "js")]
    return Throwaway("nats", f"nats://127.0.0.1:{port}", port, root, argv, {})


def _rabbitmq(root: Path) -> Throwaway:
    port = _free_port()
    (root / "enabled_plugins").write_text("[].\n")  # no management plugin: starts faster
    # Erlang's port mapper daemonizes out of the broker's process group: one
    # of its own, on a port of its own, ended with the broker.
    epmd = str(_free_port())
    env = {
        "ERL_EPMD_PORT": epmd,
        "HOME": str(root),  # the Erlang cookie is made here
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_DIST_PORT": str(_free_port()),
        "RABBITMQ_NODENAME": f"dolium-test-{port}@localhost",
        "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
        "RABBITMQ_LOG_BASE": str(root / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(root / "advanced.config"),
    }
    url = f"amqp://guest:guest@127.0.0.1:{port}/"
    broker = Throwaway("amqp", url, port, root, [RABBITMQ], env)
    if shutil.which("epmd"):
        broker.cleanups.append(lambda: _kill_epmd(epmd))
    return broker


def _kill_epmd(port: str) -> None:
    """Stop the port mapper on `port`; it refuses while it still lists the
    killed node, until it notices the node's connection closed."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done = subprocess.run(
            ["epmd", "-port", port, "-kill"], capture_output=True, text=True, check=False
        )
        if "Killed" in done.stdout or not _listening(int(port)):
            return
        time.sleep(0.2)


_MAKERS = {"redis": ("redis-server", _redis), "nats": ("nats-server", _nats)}


def _program(kind: str) -> str | None:
    if kind == "amqp":
        return RABBITMQ if os.access(RABBITMQ, os.X_OK) else None
    return shutil.which(_MAKERS[kind][0])


def throwaway(kind: str) -> Throwaway:
    """A new throwaway broker of `kind`, started; skips the test when it cannot be had."""
    if _program(kind) is None:
        pytest.skip(f"{kind}: no server installed (make test-deps) and {ENV[kind]} unset")
    root = Path(tempfile.mkdtemp(prefix=f"dolium-{kind}-"))
    broker = _rabbitmq(root) if kind == "amqp" else _MAKERS[kind][1](root)
    atexit.register(broker.close)  # should the test run be interrupted
    try:
        broker.start()
    except BaseException:
        broker.close()
        raise
    return broker


@contextlib.contextmanager
def broker(kind: str, *, restartable: bool = False) -> Iterator[Broker]:
    """A broker of `kind` while the block runs: the one its variable names, or a
    throwaway one. With `restartable`, always a throwaway one."""
    url = os.environ.get(ENV[kind])
    if url and not restartable:
        yield Broker(kind, url)
        return
    if url is None and _program(kind) is None:
        pytest.skip(f"{kind}: no server installed (make test-deps) and {ENV[kind]} unset")
    made = throwaway(kind)
    try:
        yield made
    finally:
        made.close()
