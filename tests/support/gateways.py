"""Clients that spread their requests over several gateways of one server.

Several `dolium serve` processes sharing one meta store and one block store
are one server: a client may send each request to any of them, as behind a
load balancer that picks a gateway per request. `alternate` makes a boto3
client do that, in turn, so that a test's write and the read that follows
it land on different processes.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def alternate(s3: Any, endpoints: Sequence[str]) -> Any:
    """Send each request of `s3` (a boto3 client) to the next of `endpoints`,
    in turn; presigned URLs too. Returns `s3`."""
    turns = itertools.cycle([urlsplit(e).netloc for e in endpoints])
    lock = threading.Lock()

    def before_sign(request: Any, **_: Any) -> None:
        # Before signing: the host a request is signed for is the one it goes to.
        with lock:
            netloc = next(turns)
        parts = urlsplit(request.url)
        request.url = urlunsplit(parts._replace(netloc=netloc))
        if "Host" in request.headers:
            del request.headers["Host"]

    s3.meta.events.register("before-sign.s3", before_sign)
    return s3
