"""Admin routes for the identity policies of users and of account groups.

A policy's document is the body itself (the IAM policy JSON, as IAM takes
it), kept and answered as sent.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from dolium.errors import InvalidArgument
from dolium.frontends.admin.deps import Admin, Core

router = APIRouter(tags=["policies"])

# A policy document is small: the policy parser refuses one past 20 KiB.
MAX_DOCUMENT = 64 * 1024
JSON = "application/json"
_DOCUMENT = {
    "requestBody": {
        "required": True,
        "content": {JSON: {"schema": {"type": "object", "description": "An IAM policy."}}},
    }
}


async def _document(request: Request) -> str:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_DOCUMENT:
            raise InvalidArgument(f"a policy document is at most {MAX_DOCUMENT} bytes")
    try:
        return body.decode()
    except UnicodeDecodeError:
        raise InvalidArgument("a policy document is UTF-8 JSON") from None


@router.get("/tenants/{tenant}/users/{user}/policies", operation_id="listUserPolicies")
async def list_user_policies(tenant: str, user: str, admin: Admin, core: Core) -> list[str]:
    """The names of the user's policies, sorted."""
    return list(await core.admin.identity_policies(admin).list_user_policies(tenant, user))


@router.get(
    "/tenants/{tenant}/users/{user}/policies/{name}",
    operation_id="getUserPolicy",
    response_class=Response,
    responses={200: {"content": {JSON: {}}, "description": "The policy document."}},
)
async def get_user_policy(tenant: str, user: str, name: str, admin: Admin, core: Core) -> Response:
    text = await core.admin.identity_policies(admin).get_user_policy(tenant, user, name)
    return Response(text, media_type=JSON)


@router.put(
    "/tenants/{tenant}/users/{user}/policies/{name}",
    status_code=204,
    operation_id="putUserPolicy",
    openapi_extra=_DOCUMENT,
)
async def put_user_policy(
    tenant: str, user: str, name: str, request: Request, admin: Admin, core: Core
) -> Response:
    """Attach or replace a policy; 400 MalformedPolicy if the document is not one."""
    document = await _document(request)
    await core.admin.identity_policies(admin).put_user_policy(tenant, user, name, document)
    return Response(status_code=204)


@router.delete(
    "/tenants/{tenant}/users/{user}/policies/{name}",
    status_code=204,
    operation_id="deleteUserPolicy",
)
async def delete_user_policy(
    tenant: str, user: str, name: str, admin: Admin, core: Core
) -> Response:
    await core.admin.identity_policies(admin).delete_user_policy(tenant, user, name)
    return Response(status_code=204)


@router.get("/tenants/{tenant}/groups/{group}/policies", operation_id="listGroupPolicies")
async def list_group_policies(tenant: str, group: str, admin: Admin, core: Core) -> list[str]:
    """The names of the group's policies, sorted."""
    return list(await core.admin.identity_policies(admin).list_group_policies(tenant, group))


@router.get(
    "/tenants/{tenant}/groups/{group}/policies/{name}",
    operation_id="getGroupPolicy",
    response_class=Response,
    responses={200: {"content": {JSON: {}}, "description": "The policy document."}},
)
async def get_group_policy(
    tenant: str, group: str, name: str, admin: Admin, core: Core
) -> Response:
    text = await core.admin.identity_policies(admin).get_group_policy(tenant, group, name)
    return Response(text, media_type=JSON)


@router.put(
    "/tenants/{tenant}/groups/{group}/policies/{name}",
    status_code=204,
    operation_id="putGroupPolicy",
    openapi_extra=_DOCUMENT,
)
async def put_group_policy(
    tenant: str, group: str, name: str, request: Request, admin: Admin, core: Core
) -> Response:
    """Attach or replace a policy of the group (its members: see setGroup)."""
    document = await _document(request)
    await core.admin.identity_policies(admin).put_group_policy(tenant, group, name, document)
    return Response(status_code=204)


@router.delete(
    "/tenants/{tenant}/groups/{group}/policies/{name}",
    status_code=204,
    operation_id="deleteGroupPolicy",
)
async def delete_group_policy(
    tenant: str, group: str, name: str, admin: Admin, core: Core
) -> Response:
    await core.admin.identity_policies(admin).delete_group_policy(tenant, group, name)
    return Response(status_code=204)
