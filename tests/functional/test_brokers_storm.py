"""No event is lost when the broker, or the server itself, dies during a write storm.

Writers put objects without pause into a bucket whose events go to a broker
(a throwaway NATS JetStream, or Redis with every write in its append-only
file). Mid-storm the broker is killed (SIGKILL); while it is down the server
is killed too (kill -9 of every process) and started again on the same
data; then the broker is started again on its port and data. Every object
whose PUT was answered must show up in the broker's events, at least once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from conftest import LiveServer, client, kill_server, start_server, stop_server
from test_brokers import event_counter, wait_for, write_config

from support.broker_readers import NatsReader, Reader, RedisReader
from support.brokers import Throwaway, broker

WRITERS = 3


class Storm:
    """Writer threads putting objects into `bucket` on whichever server is current."""

    def __init__(self, server: LiveServer, bucket: str) -> None:
        self.bucket = bucket
        self.api = client(server)
        self.acked: set[str] = set()
        self.refused = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._write, args=(n,)) for n in range(WRITERS)]

    def retarget(self, server: LiveServer) -> None:
        self.api = client(server)

    def __enter__(self) -> Storm:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def _write(self, writer: int) -> None:
        n = 0
        while not self.stop.is_set():
            key = f"w{writer}/{n:06d}"
            n += 1
            try:
                self.api.put_object(Bucket=self.bucket, Key=key, Body=key.encode())
            except (BotoCoreError, ClientError):
                # The server is down or restarting: this key may or may not
                # have committed, and only answered ones must be delivered.
                with self.lock:
                    self.refused += 1
                time.sleep(0.05)
                continue
            with self.lock:
                self.acked.add(key)


@pytest.fixture(params=["nats", "redis"])
def stormed(request: pytest.FixtureRequest) -> Iterator[tuple[Throwaway, Reader]]:
    with broker(request.param, restartable=True) as found:
        assert isinstance(found, Throwaway)
        reader = NatsReader(found.url) if request.param == "nats" else RedisReader(found.url)
        yield found, reader


def delivery_failures(log: Path) -> int:
    return log.read_text(errors="replace").count("event delivery failed")


def test_broker_and_server_killed_mid_storm_lose_no_event(
    stormed: tuple[Throwaway, Reader], tmp_path: Path
) -> None:
    brokers, reader = stormed
    write_config(tmp_path / "dolium.toml", reader.kind, "storm", reader.options())
    env = {"DOLIUM_CONFIG": str(tmp_path / "dolium.toml")}
    data = tmp_path / "data"
    server = start_server(data, env)
    try:
        api: Any = client(server)
        bucket = f"storm-{uuid.uuid4().hex[:8]}"
        api.create_bucket(Bucket=bucket)
        arn = f"arn:dolium:{reader.kind}::storm"
        api.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
        with Storm(server, bucket) as storm:
            time.sleep(1.0)
            brokers.kill()
            time.sleep(1.5)
            with storm.lock:
                during_outage = len(storm.acked)
            kill_server(server)
            server = start_server(data, env)
            storm.retarget(server)
            time.sleep(1.5)
            brokers.start()
            time.sleep(1.0)
        assert storm.refused > 0  # the server was really down for a while
        assert during_outage < len(storm.acked)  # and wrote on after its restart

        def delivered() -> set[str]:
            return {r["s3"]["object"]["key"] for r in reader.records(bucket)}

        wait_for(lambda: storm.acked <= delivered(), "every answered PUT's event", timeout=40)
        # An outage is logged when it starts, not once per waiting event.
        assert 1 <= delivery_failures(server.log) <= 4
        # and counted in the metrics, with the failed attempts of the reporter.
        wait_for(
            lambda: event_counter(server, "dolium_event_delivery_failures_total") >= 1,
            "failed passes in /metrics",
        )
        labels = {"destination": arn, "outcome": "failed"}
        assert event_counter(server, "dolium_event_messages_total", **labels) >= 1
    finally:
        stop_server(server)
        reader.close()
