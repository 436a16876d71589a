"""IAM's user calls: each takes the form's parameters and answers a result.

Tenants play AWS accounts (the account id in an ARN is the tenant's name),
so a user's ARN is `arn:aws:iam::<tenant>:user/<name>` and its path is `/`.
Listings are answered whole (IsTruncated false): a tenant's users and a
user's keys and policies are few.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping

from dolium.core.accounts.tenant_users import TenantUsers, user_arn
from dolium.frontends.iam.errors import missing
from dolium.frontends.iam.wire import Value, iso, url_encoded
from dolium.model import AccessKey, User

Params = Mapping[str, str]
Result = Mapping[str, Value] | None
Handler = Callable[[TenantUsers, Params], Awaitable[Result]]


def _required(params: Params, name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise missing(name)
    return value


def user_id(user: User) -> str:
    """A stable id of IAM's shape ("AIDA" and 17 more characters), from the user's name."""
    digest = hashlib.sha256(f"{user.tenant}:{user.name}".encode()).hexdigest().upper()
    return "AIDA" + digest[:17]


def _user(user: User) -> dict[str, Value]:
    return {
        "Path": "/",
        "UserName": user.name,
        "UserId": user_id(user),
        "Arn": user_arn(user.tenant, user.name),
        "CreateDate": iso(user.created),
    }


def _key(key: AccessKey) -> dict[str, Value]:
    return {
        "UserName": key.user,
        "AccessKeyId": key.access_key,
        "Status": "Active" if key.active else "Inactive",
        "CreateDate": iso(key.created),
    }


async def create_user(users: TenantUsers, params: Params) -> Result:
    return {"User": _user(await users.create_user(_required(params, "UserName")))}


async def get_user(users: TenantUsers, params: Params) -> Result:
    return {"User": _user(await users.get_user(params.get("UserName")))}


async def delete_user(users: TenantUsers, params: Params) -> Result:
    await users.delete_user(_required(params, "UserName"))
    return None


async def list_users(users: TenantUsers, params: Params) -> Result:
    listed = [_user(u) for u in await users.list_users()]
    return {"Users": listed, "IsTruncated": "false"}


async def create_access_key(users: TenantUsers, params: Params) -> Result:
    key = await users.create_key(params.get("UserName"))
    return {"AccessKey": {**_key(key), "SecretAccessKey": key.secret_key}}


async def delete_access_key(users: TenantUsers, params: Params) -> Result:
    await users.delete_key(params.get("UserName"), _required(params, "AccessKeyId"))
    return None


async def list_access_keys(users: TenantUsers, params: Params) -> Result:
    keys = [_key(k) for k in await users.list_keys(params.get("UserName"))]
    return {"AccessKeyMetadata": keys, "IsTruncated": "false"}


async def put_user_policy(users: TenantUsers, params: Params) -> Result:
    user, name = _required(params, "UserName"), _required(params, "PolicyName")
    await users.put_policy(user, name, _required(params, "PolicyDocument"))
    return None


async def get_user_policy(users: TenantUsers, params: Params) -> Result:
    user, name = _required(params, "UserName"), _required(params, "PolicyName")
    document = await users.get_policy(user, name)
    return {"UserName": user, "PolicyName": name, "PolicyDocument": url_encoded(document)}


async def list_user_policies(users: TenantUsers, params: Params) -> Result:
    names: list[Value] = list(await users.list_policies(_required(params, "UserName")))
    return {"PolicyNames": names, "IsTruncated": "false"}


async def delete_user_policy(users: TenantUsers, params: Params) -> Result:
    user, name = _required(params, "UserName"), _required(params, "PolicyName")
    await users.delete_policy(user, name)
    return None


ACTIONS: Mapping[str, Handler] = {
    "CreateUser": create_user,
    "GetUser": get_user,
    "DeleteUser": delete_user,
    "ListUsers": list_users,
    "CreateAccessKey": create_access_key,
    "DeleteAccessKey": delete_access_key,
    "ListAccessKeys": list_access_keys,
    "PutUserPolicy": put_user_policy,
    "GetUserPolicy": get_user_policy,
    "ListUserPolicies": list_user_policies,
    "DeleteUserPolicy": delete_user_policy,
}
