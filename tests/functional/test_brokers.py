"""Bucket events delivered to real brokers: Redis, NATS JetStream, RabbitMQ
and a PostgreSQL table.

For each, a live server whose configuration names the broker as a
destination; objects are put and deleted through S3, and the events are
read back from the broker with its own client, as a consumer would.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import LiveServer, client, running

from support.broker_readers import AmqpReader, NatsReader, PostgresReader, Reader, RedisReader
from support.brokers import broker
from support.postgres import postgres

KINDS = ["redis", "nats", "amqp", "postgres"]


def toml_value(value: Any) -> str:
    return json.dumps(value)  # strings, numbers and booleans read the same in TOML


def write_config(path: Path, kind: str, name: str, options: dict[str, Any]) -> None:
    lines = [f"[notify.{kind}.{name}]", *(f"{k} = {toml_value(v)}" for k, v in options.items())]
    path.write_text("\n".join(lines) + "\n")


def event_counter(server: LiveServer, name: str, **labels: str) -> float:
    """A sample of the server's /metrics (0 when absent), added up over its workers."""
    text = httpx.get(f"{server.endpoint}/metrics").text
    selector = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    head = f"{name}{{{selector}}} " if labels else f"{name} "
    return next(
        (float(line.split()[-1]) for line in text.splitlines() if line.startswith(head)), 0.0
    )


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module", params=KINDS)
def reader(request: pytest.FixtureRequest) -> Iterator[Reader]:
    kind = request.param
    if kind == "postgres":
        pg = postgres()
        yield PostgresReader(pg.database(), pg.sql)
        return
    with broker(kind) as found:
        made = {"redis": RedisReader, "nats": NatsReader, "amqp": AmqpReader}[kind](found.url)
        try:
            yield made
        finally:
            made.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, reader: Reader) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp(f"broker-{reader.kind}")
    write_config(root / "dolium.toml", reader.kind, "events", reader.options())
    with running(root / "data", {"DOLIUM_CONFIG": str(root / "dolium.toml")}) as server:
        yield server


def test_objects_put_and_deleted_arrive_as_s3_events(live: LiveServer, reader: Reader) -> None:
    s3 = client(live)
    bucket = f"brokers-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    arn = f"arn:dolium:{reader.kind}::events"
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "all",
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                }
            ]
        },
    )
    etag = s3.put_object(Bucket=bucket, Key="photos/red flower.jpg", Body=b"petals")["ETag"]
    s3.put_object(Bucket=bucket, Key="b", Body=b"")
    s3.delete_object(Bucket=bucket, Key="photos/red flower.jpg")

    wait_for(lambda: len(reader.records(bucket)) >= 3, f"3 records from {reader.kind}")
    records = sorted(reader.records(bucket), key=lambda r: r["s3"]["object"]["sequencer"])
    assert [(r["eventName"], r["s3"]["object"]["key"]) for r in records] == [
        ("ObjectCreated:Put", "photos/red+flower.jpg"),
        ("ObjectCreated:Put", "b"),
        ("ObjectRemoved:Delete", "photos/red+flower.jpg"),
    ]
    put = records[0]
    assert put["eventVersion"] == "2.1" and put["eventSource"] == "aws:s3"
    assert put["s3"]["configurationId"] == "all"
    assert put["s3"]["bucket"]["name"] == bucket
    assert put["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    assert put["s3"]["object"]["size"] == 6
    assert put["s3"]["object"]["eTag"] == etag.strip('"')
    assert "size" not in records[2]["s3"]["object"]
    # The configuration's test message came first, through the same broker.
    tests = [m for m in reader.messages() if m.get("Event") == "s3:TestEvent"]
    assert any(m["Bucket"] == bucket for m in tests)
    if isinstance(reader, AmqpReader):
        assert {
            "dolium-event": "s3:ObjectCreated:Put",
            "dolium-bucket": bucket,
            "dolium-key": "b",
        } in [{k: v for k, v in h.items() if k.startswith("dolium-")} for h in reader.headers]
    # The metrics count what the reporter published (every worker's, added up).
    wait_for(
        lambda: (
            event_counter(live, "dolium_event_messages_total", destination=arn, outcome="published")
            >= 4
        ),
        "the published messages in /metrics",
    )
    assert (
        event_counter(live, "dolium_event_messages_total", destination=arn, outcome="failed") == 0
    )
