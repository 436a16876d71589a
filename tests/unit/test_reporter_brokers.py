"""The broker reporters' options, and how they fail while their broker is away.

Publishing is tested against real brokers in tests/functional/test_brokers.py;
here a broker that is away is a port nobody listens on.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from dolium.backends.reporter_amqp import AmqpReporter
from dolium.backends.reporter_nats import NatsReporter
from dolium.backends.reporter_postgres import PostgresReporter
from dolium.backends.reporter_redis import RedisReporter
from dolium.config_load import load_config
from dolium.errors import ConfigError, StorageError
from dolium.plugins import open_reporters
from dolium.protocols.events import Message, Reporter, statistics
from dolium.redact import redact_url, scrub

SECRET = "hunter2-s3cr%40t"  # percent-encoded: the driver may show it decoded


def closed_port() -> int:
    """A port of 127.0.0.1 nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def message() -> Message:
    return Message("id1", "arn:dolium:x::y", "s3:ObjectCreated:Put", "b", "k", 1.0, "{}")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dolium.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n' + text)
    return path


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('[notify.redis.a]\nurl = "http://x/"\n', "config notify.redis.a: redis url 'http://x/'"),
        (
            '[notify.redis.a]\nurl = "redis://u:pw@x/"\nmaxlen = -1\n',
            "config notify.redis.a: redis maxlen: -1 is not a whole number",
        ),
        ("[notify.redis.a]\nstreem = 1\n", "config notify.redis.a.streem: unknown option"),
        ('[notify.nats.a]\nstream = "a.b"\n', "config notify.nats.a: nats stream: 'a.b'"),
        ('[notify.nats.a]\nsubject = "a.*"\n', "config notify.nats.a: nats subject: 'a.*'"),
        ("[notify.nats.a]\ntimeout = 0\n", "config notify.nats.a: nats timeout: 0 is not"),
        (
            '[notify.amqp.a]\nexchange_type = "fan"\n',
            "config notify.amqp.a: amqp exchange_type: 'fan'",
        ),
        (
            '[notify.amqp.a]\nurl = "amqp://guest:pw@h/"\nexchange = ""\nqueue = "q"\n',
            "config notify.amqp.a: amqp routing_key: through the default exchange",
        ),
        ("[notify.postgres.a]\n", "config notify.postgres.a: option 'dsn' is required"),
        (
            '[notify.postgres.a]\ndsn = "postgresql://h/db"\ntable = "Events; drop"\n',
            "config notify.postgres.a: postgres table: 'Events; drop'",
        ),
    ],
)
async def test_bad_options_are_one_line_errors(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        await open_reporters(load_config(write(tmp_path, text)))
    assert caught.value.message.startswith(error)
    assert "\n" not in caught.value.message


async def test_a_bad_url_is_shown_without_its_password(tmp_path: Path) -> None:
    text = f'[notify.amqp.a]\nurl = "http://guest:{SECRET}@h/"\n'
    with pytest.raises(ConfigError) as caught:
        await open_reporters(load_config(write(tmp_path, text)))
    assert SECRET not in caught.value.message
    assert "http://guest:***@h/" in caught.value.message


async def open_at(kind: str, port: int) -> Reporter:
    url = {
        "redis": f"redis://:{SECRET}@127.0.0.1:{port}/0",
        "nats": f"nats://dolium:{SECRET}@127.0.0.1:{port}",
        "amqp": f"amqp://guest:{SECRET}@127.0.0.1:{port}/",
        "postgres": f"postgresql://dolium:{SECRET}@127.0.0.1:{port}/events",
    }[kind]
    if kind == "redis":
        return await RedisReporter.open(url, timeout=2)
    if kind == "nats":
        return await NatsReporter.open(url, timeout=2)
    if kind == "amqp":
        return await AmqpReporter.open(url, timeout=2)
    return await PostgresReporter.open(url, timeout=2)


@pytest.mark.parametrize("kind", ["redis", "nats", "amqp", "postgres"])
async def test_a_broker_away_is_an_error_without_the_password_counted_as_failed(
    kind: str,
) -> None:
    reporter = await open_at(kind, closed_port())  # opening needs no broker
    try:
        for _ in range(2):  # and each publish tries to connect again
            with pytest.raises(StorageError) as caught:
                await reporter.publish(message())
            assert SECRET not in caught.value.message
            assert "hunter2" not in caught.value.message
            assert ":***@127.0.0.1" in caught.value.message
        assert statistics(reporter) == {"published": 0, "failed": 2}
    finally:
        await reporter.close()


def test_redaction() -> None:
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert redact_url("amqp://u:pw@[::1]:5672/v") == "amqp://u:***@[::1]:5672/v"
    assert redact_url("redis://:pw@h") == "redis://:***@h"
    assert redact_url("nats://t0ken@h:4222") == "nats://***@h:4222"  # a NATS token
    assert redact_url("amqp://guest@h/") == "amqp://guest@h/"  # a user is no secret
    assert redact_url("redis://h:port/") == "***"
    url = "amqp://u:a%40b@h/"
    assert scrub(f"cannot reach {url}: auth a@b refused", url) == (
        "cannot reach amqp://u:***@h/: auth *** refused"
    )
