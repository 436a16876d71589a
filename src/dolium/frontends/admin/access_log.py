"""The access log: one record per request, on the `dolium.access` logger.

What it records is `observed.Seen`: method, path without its query, status,
bytes, time, request id, caller and client address; never a query string or
a header, where signatures, tokens and temporary-URL signatures travel.
With `log_format = "json"` each record is one JSON object (dolium.logs).
"""

from __future__ import annotations

import dataclasses
import logging

from dolium.frontends.admin.observed import Seen

log = logging.getLogger("dolium.access")


class AccessLog:
    def seen(self, request: Seen) -> None:
        fields = dataclasses.asdict(request)
        fields["seconds"] = round(request.seconds, 6)
        log.info(
            "%s %s %s %d %d %.6f %s %s",
            request.client or "-", request.method, request.path, request.status, request.sent,
            request.seconds, request.request_id or "-", request.caller or "-",
            extra={"fields": fields},
        )  # fmt: skip
