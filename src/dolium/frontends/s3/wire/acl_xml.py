"""S3 ACLs on the wire: AccessControlPolicy XML and the x-amz-acl / x-amz-grant-* headers.

Translation only: these functions turn the wire forms into `dolium.core.access.acl`
values and back, with S3's error codes. Whether the caller may set an ACL,
and whether the body's <Owner> is the resource's owner, is the handler's to
judge. Client XML is parsed by the defusedxml helpers of `xml`; anything they
reject, and anything that does not fit S3's schema, is MalformedACLError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from xml.etree.ElementTree import Element

from dolium.core.access.acl import (
    BY_EMAIL,
    CANNED,
    CANONICAL_USER,
    GROUP,
    GROUPS,
    MAX_GRANTS,
    Acl,
    Grant,
    Grantee,
    Permission,
    canned,
    group,
    user,
)
from dolium.frontends.s3.errors import MALFORMED_MESSAGE, S3Error
from dolium.frontends.s3.wire import xml

# Header -> the permission its grantees get, in the order grants are listed.
GRANT_HEADERS: dict[str, Permission] = {
    "x-amz-grant-read": Permission.READ,
    "x-amz-grant-write": Permission.WRITE,
    "x-amz-grant-read-acp": Permission.READ_ACP,
    "x-amz-grant-write-acp": Permission.WRITE_ACP,
    "x-amz-grant-full-control": Permission.FULL_CONTROL,
}

_XSI_TYPE = f"{{{xml.XSI_XMLNS}}}type"

# Looks up a grantee by e-mail address or canonical id; None if there is none.
Resolver = Callable[[str], Grantee | None]


def malformed_acl() -> S3Error:
    return S3Error(400, "MalformedACLError", MALFORMED_MESSAGE)


def invalid_argument(message: str, name: str, value: str) -> S3Error:
    return S3Error(400, "InvalidArgument", message, ArgumentName=name, ArgumentValue=value)


def unresolvable_email(email: str) -> S3Error:
    return S3Error(
        400,
        "UnresolvableGrantByEmailAddress",
        "The email address you provided does not match any account on record.",
        EmailAddress=email,
    )


# --------------------------------------------------------------------------- rendering


def _grantee(grantee: Grantee) -> xml.Elem:
    content: dict[str, str | None]
    if grantee.kind == GROUP:
        content = {"URI": grantee.id}
    elif grantee.kind == BY_EMAIL:
        content = {"EmailAddress": grantee.id}
    else:
        content = {"ID": grantee.id, "DisplayName": grantee.display_name or None}
    return xml.Elem({"xmlns:xsi": xml.XSI_XMLNS, "xsi:type": grantee.kind}, content)


def render_acl(acl: Acl) -> bytes:
    """The AccessControlPolicy document GetBucketAcl / GetObjectAcl return."""
    grants: list[xml.Node] = [
        ("Grant", {"Grantee": _grantee(g.grantee), "Permission": g.permission.value})
        for g in acl.grants
    ]
    owner = {"ID": acl.owner_id, "DisplayName": acl.owner_name or None}
    return xml.render("AccessControlPolicy", [("Owner", owner), ("AccessControlList", grants)])


# --------------------------------------------------------------------------- parsing


def _field(element: Element, name: str) -> str | None:
    """Stripped text of the single child `name`; None when absent."""
    child = xml._only(element, name)
    return None if child is None else xml._text(child).strip()


def _parse_grantee(element: Element) -> Grantee:
    kind = element.get(_XSI_TYPE)
    if kind == CANONICAL_USER:
        canonical_id = _field(element, "ID")
        if not canonical_id:
            raise invalid_argument("Invalid id", "CanonicalUser/ID", canonical_id or "")
        return user(canonical_id, _field(element, "DisplayName") or "")
    if kind == GROUP:
        uri = _field(element, "URI")
        if uri is None:
            raise malformed_acl()
        if uri not in GROUPS:
            raise invalid_argument("Invalid group uri", "Group/URI", uri)
        return group(uri)
    if kind == BY_EMAIL:
        email = _field(element, "EmailAddress")
        if not email:
            raise malformed_acl()
        return Grantee(BY_EMAIL, email)
    raise malformed_acl()


def _parse_policy(body: bytes) -> Acl:
    root = xml._parse(body, "AccessControlPolicy")
    owner = xml._only(root, "Owner")
    grant_list = xml._only(root, "AccessControlList")
    if owner is None or grant_list is None:
        raise malformed_acl()
    owner_id = _field(owner, "ID")
    if not owner_id:
        raise invalid_argument("Invalid id", "CanonicalUser/ID", owner_id or "")
    grants: list[Grant] = []
    for tag, element in xml._children(grant_list):
        if tag != "Grant":
            continue
        if len(grants) == MAX_GRANTS:
            raise malformed_acl()
        grantee = xml._only(element, "Grantee")
        permission = _field(element, "Permission")
        if grantee is None or permission is None or permission not in Permission.__members__:
            raise malformed_acl()
        grants.append(Grant(_parse_grantee(grantee), Permission[permission]))
    return Acl(owner_id, _field(owner, "DisplayName") or "", tuple(grants))


def parse_acl(body: bytes) -> Acl:
    """The ACL of a PutBucketAcl / PutObjectAcl body, exactly as sent.

    No grant is added for the owner (S3 adds none). E-mail grantees are
    kept for `resolve_grantees`. Not well-formed XML, a missing <Owner> or
    <AccessControlList>, an unknown xsi:type or permission, or more than
    MAX_GRANTS grants is MalformedACLError; an unknown group URI or an empty
    canonical id is InvalidArgument.
    """
    xml._check_size(body, xml.MAX_CONFIG_BODY)
    try:
        return _parse_policy(body)
    except S3Error as exc:
        if exc.code == "MalformedXML":  # from the shared XML helpers
            raise malformed_acl() from exc
        raise


def resolve_grantees(
    acl: Acl, resolve_email: Resolver | None, resolve_id: Resolver | None = None
) -> Acl:
    """`acl` with e-mail grantees replaced by the accounts they name.

    With `resolve_id`, canonical-user grantees are looked up too (which
    fills in their display names); an unknown id is InvalidArgument. An
    e-mail address nobody has is UnresolvableGrantByEmailAddress; with no
    `resolve_email`, e-mail grantees are left for a later call.
    """
    grants: list[Grant] = []
    for grant in acl.grants:
        grantee = grant.grantee
        if grantee.kind == BY_EMAIL and resolve_email is not None:
            found = resolve_email(grantee.id)
            if found is None:
                raise unresolvable_email(grantee.id)
        elif grantee.kind == CANONICAL_USER and resolve_id is not None:
            found = resolve_id(grantee.id)
            if found is None:
                raise invalid_argument("Invalid id", "CanonicalUser/ID", grantee.id)
        else:
            found = grantee
        grants.append(Grant(found, grant.permission))
    return replace(acl, grants=tuple(grants))


# --------------------------------------------------------------------------- headers


def _parse_grantees(header: str, value: str) -> list[Grantee]:
    """`id="..."`, `uri="..."`, `emailAddress="..."`, comma-separated (quotes optional)."""
    grantees: list[Grantee] = []
    for item in value.split(","):
        kind, sep, raw = item.partition("=")
        kind, raw = kind.strip().lower(), raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1]
        if not sep or kind not in ("id", "uri", "emailaddress"):
            raise invalid_argument("Argument format not recognized", header, item.strip())
        if kind == "id":
            if not raw:
                raise invalid_argument("Invalid id", "id", raw)
            grantees.append(user(raw))
        elif kind == "uri":
            if raw not in GROUPS:
                raise invalid_argument("Invalid group uri", "uri", raw)
            grantees.append(group(raw))
        else:
            if not raw:
                raise unresolvable_email(raw)
            grantees.append(Grantee(BY_EMAIL, raw))
    return grantees


def acl_from_headers(
    headers: Mapping[str, str],
    owner: Grantee,
    bucket_owner: Grantee | None,
    resolve_email: Resolver | None,
    *,
    resolve_id: Resolver | None = None,
) -> Acl | None:
    """The ACL a request's x-amz-acl or x-amz-grant-* headers set; None if it has none.

    `headers` has lower-case names. `owner` owns the new ACL; `bucket_owner`
    is the bucket's owner for an object (None for a bucket), used by the
    bucket-owner-* canned ACLs. Grant headers give exactly the grants they
    list: the owner gets none it is not named in, as in S3. E-mail grantees
    are resolved as by `resolve_grantees`.
    """
    name = headers.get("x-amz-acl")
    present = [(h, headers[h]) for h in GRANT_HEADERS if h in headers]
    if name is not None and present:
        raise S3Error(
            400, "InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed"
        )
    if name is not None:
        name = name.strip()
        if name not in CANNED:
            raise invalid_argument("Invalid canned ACL", "x-amz-acl", name)
        return canned(name, owner, bucket_owner)
    if not present:
        return None
    grants: list[Grant] = []
    for header, value in present:
        grants += [Grant(g, GRANT_HEADERS[header]) for g in _parse_grantees(header, value)]
        if len(grants) > MAX_GRANTS:
            raise malformed_acl()
    acl = Acl(owner.id, owner.display_name, tuple(grants))
    return resolve_grantees(acl, resolve_email, resolve_id)


def requested_acl(headers: Mapping[str, str]) -> str | Acl | None:
    """What a request's ACL headers ask for, checked but not yet expanded: None for none.

    The canned name as given, or the grants (with no owner, and e-mail
    grantees left for the core to resolve): the owners, and so the ACL
    itself, are known only once the core has found the bucket or object.
    """
    parsed = acl_from_headers(headers, user(""), None, None)
    if parsed is None:
        return None
    name = headers.get("x-amz-acl")
    return name.strip() if name is not None else parsed


def acl_headers(request_headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The x-amz-acl and x-amz-grant-* headers of a request (lower-case names)."""
    return {
        name: value
        for name, value in request_headers
        if name == "x-amz-acl" or name in GRANT_HEADERS
    }
