"""The admin API against its own OpenAPI document, with generated requests.

schemathesis derives requests from the document (valid ones and, for the
bodies, invalid ones too), sends each, signed by an administrator, to a
server of its own, and checks that no answer is a server error and that
every answer matches the status codes and schemas the document declares.
"""

from __future__ import annotations

from typing import Any

import requests
import schemathesis
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from conftest import ROOT_KEY, ROOT_SECRET, LiveServer, own_server
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

DOCUMENT_BODIES = frozenset({"putUserPolicy", "putGroupPolicy"})

openapi = own_server("openapi", {"DOLIUM_WORKERS": "1"})


class SigV4(requests.auth.AuthBase):
    """Signs each generated request as an administrator, as any SigV4 client would."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        signed = AWSRequest(
            method=request.method, url=request.url, data=body, headers=dict(request.headers)
        )
        S3SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), "s3", "us-east-1").add_auth(signed)
        request.headers.update(dict(signed.headers.items()))
        return request


def test_the_admin_api_keeps_its_document(openapi: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{openapi.endpoint}/admin/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    auth = SigV4()
    for operation in operations:
        # A policy document's rules (statements, effects, actions...) are more than
        # a JSON schema says: a document the schema allows may still be refused.
        documents = operation.definition.raw.get("operationId") in DOCUMENT_BODIES
        check_operation(operation, auth, [positive_data_acceptance] if documents else [])


def check_operation(operation: Any, auth: SigV4, excluded: list[Any]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=12, deadline=None, suppress_health_check=list(HealthCheck),
        derandomize=True, database=None,
    )  # fmt: skip
    def check(case: Any) -> None:
        case.call_and_validate(auth=auth, excluded_checks=excluded)

    check()
