"""GET /info: the cluster's capabilities, as Swift's discoverability reports them.

Only what Dolium does is listed: clients read the absence of a middleware
(slo, tempurl, ...) as "not supported".
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import JSONResponse, Response

from dolium.core.content.blocks import MAX_PUT_SIZE
from dolium.core.names import MAX_CONTAINER_BYTES
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.largeobjects import slo
from dolium.frontends.swift.middleware import formpost, quotas, tempurl
from dolium.frontends.swift.ops import bulk_delete, extract_archive, symlinks, versioned_writes
from dolium.frontends.swift.ops.listing_query import LISTING_LIMIT
from dolium.frontends.swift.ops.objects import MAX_OBJECT_NAME_LENGTH
from dolium.frontends.swift.wire import metadata

# The Swift release whose v1 API this front end follows.
SWIFT_VERSION = "2.34.0"


def capabilities(policies: Sequence[str], default_policy: str) -> dict[str, object]:
    return {
        "swift": {
            "version": SWIFT_VERSION,
            "max_file_size": MAX_PUT_SIZE,
            "max_meta_name_length": metadata.MAX_META_NAME_LENGTH,
            "max_meta_value_length": metadata.MAX_META_VALUE_LENGTH,
            "max_meta_count": metadata.MAX_META_COUNT,
            "max_meta_overall_size": metadata.MAX_META_OVERALL_SIZE,
            "max_header_size": 8192,
            "max_object_name_length": MAX_OBJECT_NAME_LENGTH,
            "container_listing_limit": LISTING_LIMIT,
            "account_listing_limit": LISTING_LIMIT,
            "max_account_name_length": 256,
            "max_container_name_length": MAX_CONTAINER_BYTES,
            "extra_header_count": 0,
            "valid_api_versions": ["v1", "v1.0"],
            "strict_cors_mode": True,
            "policies": [
                {"name": name, **({"default": True} if name == default_policy else {})}
                for name in policies
            ],
        },
        "tempauth": {"account_acls": True},
        "tempurl": tempurl.INFO,
        "formpost": formpost.INFO,
        "slo": slo.INFO,
        "dlo": {},
        "bulk_delete": bulk_delete.INFO,
        "bulk_upload": extract_archive.INFO,
        "versioned_writes": versioned_writes.INFO,
        "object_versioning": {},
        "staticweb": {},
        "symlink": symlinks.INFO,
        "container_quotas": quotas.CONTAINER_INFO,
        "account_quotas": quotas.ACCOUNT_INFO,
    }


def info(method: str, policies: Sequence[str], default_policy: str) -> Response:
    if method not in ("GET", "HEAD"):
        raise SwiftError(405)
    response = JSONResponse(capabilities(policies, default_policy))
    if method == "HEAD":
        response.body = b""
    return response
