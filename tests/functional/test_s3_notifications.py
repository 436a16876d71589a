"""Bucket event notifications against a live server, delivered to a webhook.

The webhook is a small HTTP server run by the test on 127.0.0.1; the Dolium
server is started with a config file naming it. Events are asserted on the
JSON the receiver got, as an SQS consumer would read it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import (
    OTHER_KEY,
    OTHER_SECRET,
    LiveServer,
    aws_cli,
    client,
    needs_aws,
    running,
    start_server,
    stop_server,
)

ARN = "arn:dolium:webhook::hook"
MIB = 1024 * 1024


class Receiver:
    """A webhook: records every message; answers 503 while `failing` says so."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.attempts = 0
        self.refuse_next = 0  # answer this many next requests with 503
        self.down = False  # answer 503 until cleared
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers["content-length"]))
                with receiver.lock:
                    receiver.attempts += 1
                    refuse = receiver.down or receiver.refuse_next > 0
                    if receiver.refuse_next > 0:
                        receiver.refuse_next -= 1
                    if not refuse:
                        receiver.messages.append(json.loads(data))
                self.send_response(503 if refuse else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def records(self, bucket: str) -> list[dict[str, Any]]:
        """The records about `bucket`, each once: delivery is at least once (two
        workers may both deliver a change before either moves the cursor), and
        a receiver tells repeats apart as any would, by the record itself."""
        with self.lock:
            found = [
                r
                for m in self.messages
                for r in m.get("Records", [])
                if r["s3"]["bucket"]["name"] == bucket
            ]
        once = {json.dumps(r, sort_keys=True): r for r in found}
        return list(once.values())

    def tests(self, bucket: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages if m.get("Bucket") == bucket]


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


def notify_server(data: Path, receiver: Receiver) -> AbstractContextManager[LiveServer]:
    """A server on `data` that sends its events to `receiver`, while the block runs."""
    config = data.parent / f"{data.name}.toml"
    config.write_text(
        f'[notify.webhook.hook]\nurl = "{receiver.url}"\nbackoff = 0.05\nmax_backoff = 0.2\n'
    )
    return running(data, {"DOLIUM_CONFIG": str(config)})


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[LiveServer]:
    with notify_server(tmp_path_factory.mktemp("notify") / "data", receiver) as server:
        yield server


@pytest.fixture(scope="module")
def api(live: LiveServer) -> Any:
    return client(live)


@pytest.fixture
def name(api: Any) -> str:
    bucket = f"events-{uuid.uuid4().hex[:10]}"
    api.create_bucket(Bucket=bucket)
    return bucket


def configure(api: Any, bucket: str, **config: Any) -> None:
    api.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)


def queue(events: list[str], prefix: str | None = None, id: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"QueueArn": ARN, "Events": events}
    if id is not None:
        entry["Id"] = id
    if prefix is not None:
        entry["Filter"] = {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}}
    return entry


def test_configuration_round_trip_and_test_event(api: Any, name: str, receiver: Receiver) -> None:
    assert "QueueConfigurations" not in api.get_bucket_notification_configuration(Bucket=name)
    configure(
        api,
        name,
        QueueConfigurations=[queue(["s3:ObjectCreated:*"], prefix="in/", id="created")],
        TopicConfigurations=[
            {
                "TopicArn": ARN,
                "Events": ["s3:ObjectRemoved:Delete"],
                "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".log"}]}},
            }
        ],
    )
    got = api.get_bucket_notification_configuration(Bucket=name)
    assert got["QueueConfigurations"] == [
        {
            "Id": "created",
            "QueueArn": ARN,
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "Prefix", "Value": "in/"}]}},
        }
    ]
    (topic,) = got["TopicConfigurations"]
    assert topic["Id"]  # made up, as S3 does
    assert topic["Filter"]["Key"]["FilterRules"] == [{"Name": "Suffix", "Value": ".log"}]
    # One test message per destination, at each put.
    wait_for(lambda: len(receiver.tests(name)) == 1, "the s3:TestEvent")
    test = receiver.tests(name)[0]
    assert test["Service"] == "Amazon S3" and test["Event"] == "s3:TestEvent"
    configure(api, name)  # empty: notifications off
    assert "QueueConfigurations" not in api.get_bucket_notification_configuration(Bucket=name)


def test_refusals(api: Any, name: str, other_api: Any) -> None:
    with pytest.raises(ClientError) as exc:
        configure(
            api,
            name,
            QueueConfigurations=[
                {**queue(["s3:ObjectCreated:*"]), "QueueArn": "arn:aws:sqs:us-east-1:1:q"}
            ],
        )
    error = exc.value.response["Error"]
    assert error["Code"] == "InvalidArgument"
    assert error["Message"] == "Unable to validate the following destination configurations"
    assert error["ArgumentName1"] == "arn:aws:sqs:us-east-1:1:q"
    with pytest.raises(ClientError) as exc:
        configure(api, name, QueueConfigurations=[queue(["s3:ObjectCreated:Mail"])])
    assert exc.value.response["Error"]["Code"] == "InvalidArgument"
    with pytest.raises(ClientError) as exc:
        configure(
            api,
            name,
            QueueConfigurations=[
                queue(["s3:ObjectCreated:*"], "a/"),
                queue(["s3:ObjectCreated:Put"], "a/b"),
            ],
        )
    assert "ambiguously defined" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        other_api.get_bucket_notification_configuration(Bucket=name)
    assert exc.value.response["Error"]["Code"] == "AccessDenied"


@pytest.fixture(scope="module")
def other_api(live: LiveServer) -> Any:
    live.admin("tenant", "create", "other", "--display-name", "Other Tenant")
    live.admin(
        "user", "create", "other:alice", "--access-key", OTHER_KEY, "--secret-key", OTHER_SECRET
    )
    return client(live, OTHER_KEY, OTHER_SECRET)


def test_object_events(api: Any, name: str, receiver: Receiver, live: LiveServer) -> None:
    configure(
        api,
        name,
        QueueConfigurations=[
            queue(["s3:ObjectCreated:*"]),
            queue(["s3:ObjectRemoved:*"], id="gone"),
        ],
    )
    put = api.put_object(Bucket=name, Key="dir/red flower.txt", Body=b"hello")
    api.copy_object(
        Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "dir/red flower.txt"}
    )
    upload = api.create_multipart_upload(Bucket=name, Key="big")
    parts = [
        {
            "PartNumber": n,
            "ETag": api.upload_part(
                Bucket=name, Key="big", UploadId=upload["UploadId"], PartNumber=n, Body=b"x" * size
            )["ETag"],
        }
        for n, size in ((1, 5 * MIB), (2, 10))
    ]
    api.complete_multipart_upload(
        Bucket=name, Key="big", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    api.delete_object(Bucket=name, Key="copy")
    api.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "big"}]})
    wait_for(lambda: len(receiver.records(name)) == 5, "five object events")
    records = receiver.records(name)
    assert [r["eventName"] for r in records] == [
        "ObjectCreated:Put",
        "ObjectCreated:Copy",
        "ObjectCreated:CompleteMultipartUpload",
        "ObjectRemoved:Delete",
        "ObjectRemoved:Delete",
    ]
    first = records[0]
    assert first["eventVersion"] == "2.1"
    assert first["eventSource"] == "aws:s3"
    assert first["awsRegion"] == "us-east-1"
    assert first["requestParameters"]["sourceIPAddress"] == "127.0.0.1"
    assert first["responseElements"]["x-amz-request-id"] == put["ResponseMetadata"]["RequestId"]
    assert first["userIdentity"]["principalId"]
    assert first["s3"]["bucket"] == {
        "name": name,
        "ownerIdentity": first["s3"]["bucket"]["ownerIdentity"],
        "arn": f"arn:aws:s3:::{name}",
    }
    assert first["s3"]["object"]["key"] == "dir/red+flower.txt"
    assert first["s3"]["object"]["size"] == 5
    assert first["s3"]["object"]["eTag"] == put["ETag"].strip('"')
    assert records[2]["s3"]["object"]["size"] == 5 * MIB + 10
    assert records[2]["s3"]["object"]["eTag"].endswith("-2")
    assert records[3]["s3"]["configurationId"] == "gone"
    assert "size" not in records[3]["s3"]["object"]
    seq = [int(r["s3"]["object"]["sequencer"], 16) for r in records]
    assert seq == sorted(seq)


def test_versioned_events_carry_version_ids(api: Any, name: str, receiver: Receiver) -> None:
    api.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    configure(
        api, name, QueueConfigurations=[queue(["s3:ObjectCreated:Put", "s3:ObjectRemoved:*"])]
    )
    put = api.put_object(Bucket=name, Key="k", Body=b"1")
    marker = api.delete_object(Bucket=name, Key="k")
    api.delete_object(Bucket=name, Key="k", VersionId=put["VersionId"])
    wait_for(lambda: len(receiver.records(name)) == 3, "three events")
    objects = [(r["eventName"], r["s3"]["object"].get("versionId")) for r in receiver.records(name)]
    assert objects == [
        ("ObjectCreated:Put", put["VersionId"]),
        ("ObjectRemoved:DeleteMarkerCreated", marker["VersionId"]),
        ("ObjectRemoved:Delete", put["VersionId"]),
    ]


def test_prefix_filter(api: Any, name: str, receiver: Receiver) -> None:
    configure(api, name, QueueConfigurations=[queue(["s3:ObjectCreated:*"], prefix="logs/")])
    api.put_object(Bucket=name, Key="other/a", Body=b"")
    api.put_object(Bucket=name, Key="logs/b", Body=b"")
    wait_for(lambda: len(receiver.records(name)) >= 1, "the logs/ event")
    api.put_object(Bucket=name, Key="logs/c", Body=b"")
    wait_for(lambda: len(receiver.records(name)) >= 2, "the second logs/ event")
    assert [r["s3"]["object"]["key"] for r in receiver.records(name)] == ["logs/b", "logs/c"]


def test_refused_deliveries_are_retried(api: Any, name: str, receiver: Receiver) -> None:
    configure(api, name, QueueConfigurations=[queue(["s3:ObjectCreated:*"])])
    wait_for(lambda: len(receiver.tests(name)) == 1, "the s3:TestEvent")
    with receiver.lock:
        receiver.refuse_next = 3
        before = receiver.attempts
    api.put_object(Bucket=name, Key="k", Body=b"x")
    wait_for(lambda: len(receiver.records(name)) == 1, "the event, after three refusals")
    assert receiver.attempts - before == 4
    assert receiver.records(name)[0]["s3"]["object"]["key"] == "k"


def test_undelivered_events_survive_a_restart(tmp_path: Path) -> None:
    receiver = Receiver()
    with notify_server(tmp_path / "data", receiver) as server:
        api = client(server)
        api.create_bucket(Bucket="restart")
        configure(api, "restart", QueueConfigurations=[queue(["s3:ObjectCreated:*"])])
        wait_for(lambda: len(receiver.tests("restart")) == 1, "the s3:TestEvent")
        receiver.down = True
        api.put_object(Bucket="restart", Key="k", Body=b"x")
        wait_for(lambda: receiver.attempts >= 3, "refused attempts")
    outbox = tmp_path / "data" / "outbox" / "hook"
    assert len([p for p in outbox.iterdir() if p.suffix == ".json"]) == 1
    assert receiver.records("restart") == []
    receiver.down = False
    try:
        with notify_server(tmp_path / "data", receiver):
            wait_for(lambda: len(receiver.records("restart")) == 1, "the event, after the restart")
            assert receiver.records("restart")[0]["s3"]["object"]["key"] == "k"
            wait_for(lambda: not any(p.suffix == ".json" for p in outbox.iterdir()), "empty outbox")
    finally:
        receiver.close()


def test_events_committed_before_a_kill_are_delivered_after_the_restart(tmp_path: Path) -> None:
    """Changes committed while no event could be handed to the reporter, then
    kill -9: the restarted server delivers every event from the change log."""
    receiver = Receiver()
    data = tmp_path / "data"
    config = tmp_path / "notify.toml"
    config.write_text(f'[notify.webhook.hook]\nurl = "{receiver.url}"\nbackoff = 0.05\n')
    env = {"DOLIUM_CONFIG": str(config)}
    server = start_server(data, env)
    outbox = data / "outbox" / "hook"
    try:
        api = client(server)
        api.create_bucket(Bucket="crash")
        api.put_bucket_versioning(Bucket="crash", VersioningConfiguration={"Status": "Enabled"})
        configure(
            api, "crash", QueueConfigurations=[queue(["s3:ObjectCreated:*", "s3:ObjectRemoved:*"])]
        )
        wait_for(lambda: len(receiver.tests("crash")) == 1, "the s3:TestEvent")
        wait_for(lambda: not any(p.suffix == ".json" for p in outbox.iterdir()), "empty outbox")
        # The reporter can take nothing now (its outbox is a file), so each
        # event stays in the change log only.
        outbox.rename(outbox.with_name("hook.aside"))
        outbox.write_bytes(b"")
        made = [api.put_object(Bucket="crash", Key=f"k{n}", Body=b"x" * n) for n in range(5)]
        marker = api.delete_object(Bucket="crash", Key="k0")
        api.delete_object(Bucket="crash", Key="k1", VersionId=made[1]["VersionId"])
        server.process.kill()  # SIGKILL: no shutdown, nothing flushed
        server.process.wait()
        assert receiver.records("crash") == []
        outbox.unlink()
        outbox.with_name("hook.aside").rename(outbox)
        server = start_server(data, env)
        expected = {("ObjectCreated:Put", f"k{n}", made[n]["VersionId"]) for n in range(5)}
        expected |= {
            ("ObjectRemoved:DeleteMarkerCreated", "k0", marker["VersionId"]),
            ("ObjectRemoved:Delete", "k1", made[1]["VersionId"]),
        }

        def delivered() -> set[tuple[str, str, str]]:
            return {
                (r["eventName"], r["s3"]["object"]["key"], r["s3"]["object"]["versionId"])
                for r in receiver.records("crash")
            }

        wait_for(lambda: delivered() >= expected, "every event, after the restart")
        assert delivered() == expected
        assert receiver.records("crash")[0]["s3"]["object"]["size"] == 0
    finally:
        stop_server(server)
        receiver.close()


@pytest.mark.client
@needs_aws
def test_aws_cli_configures_notifications(
    live: LiveServer, api: Any, name: str, receiver: Receiver, tmp_path: Path
) -> None:
    aws = aws_cli(live.endpoint, tmp_path)
    config = {
        "LambdaFunctionConfigurations": [
            {"Id": "fn", "LambdaFunctionArn": ARN, "Events": ["s3:ObjectRemoved:*"]}
        ]
    }
    aws(
        "s3api",
        "put-bucket-notification-configuration",
        "--bucket",
        name,
        "--notification-configuration",
        json.dumps(config),
    )
    got = json.loads(aws("s3api", "get-bucket-notification-configuration", "--bucket", name).stdout)
    assert got == config
    api.put_object(Bucket=name, Key="k", Body=b"x")
    api.delete_object(Bucket=name, Key="k")
    wait_for(lambda: len(receiver.records(name)) == 1, "the removal event")
    assert receiver.records(name)[0]["s3"]["configurationId"] == "fn"


def test_browser_upload_is_a_post_event(api: Any, name: str, receiver: Receiver) -> None:
    configure(api, name, QueueConfigurations=[queue(["s3:ObjectCreated:*"])])
    form = api.generate_presigned_post(name, "posted/${filename}")
    uploaded = httpx.post(form["url"], data=form["fields"], files={"file": ("a.txt", b"form body")})
    assert uploaded.status_code == 204, uploaded.text
    wait_for(lambda: len(receiver.records(name)) == 1, "the upload's event")
    [record] = receiver.records(name)
    assert record["eventName"] == "ObjectCreated:Post"
    assert record["s3"]["object"]["key"] == "posted/a.txt"
