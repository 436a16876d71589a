"""S3 ACLs: canned ACLs and checks (core), XML and headers (S3 front end)."""

from __future__ import annotations

import contextlib
import json
import string
import xml.etree.ElementTree as ET

import botocore.session
import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from hypothesis import given
from hypothesis import strategies as st

from dolium import errors
from dolium.core.access import acl
from dolium.core.access.acl import (
    ALL_USERS,
    AUTHENTICATED_USERS,
    LOG_DELIVERY,
    Acl,
    Grant,
    Grantee,
    Permission,
)
from dolium.frontends.s3.errors import MALFORMED_MESSAGE, S3Error
from dolium.frontends.s3.wire import acl_xml, xml
from dolium.model import Principal

NS = xml.S3_XMLNS
XSI = xml.XSI_XMLNS
P = Permission
ALL = frozenset(Permission)

ALICE = acl.user("id-alice", "alice")
BOB = acl.user("id-bob", "bob")
CAROL = acl.user("id-carol", "carol")

ANONYMOUS = Principal(tenant="", user="")
OWNER = Principal("alice", "root", canonical_id="id-alice", display_name="alice")
BUCKET_OWNER = Principal("bob", "root", canonical_id="id-bob", display_name="bob")
STRANGER = Principal("dave", "root", canonical_id="id-dave", display_name="dave")

_MODEL = botocore.session.get_session().get_service_model("s3")


def boto_body(operation: str, params: dict[str, object]) -> bytes:
    """The XML body botocore sends for an operation."""
    request = create_serializer("rest-xml").serialize_to_request(
        params, _MODEL.operation_model(operation)
    )
    body = request["body"]
    assert isinstance(body, bytes)
    return body


def boto_parse(operation: str, body: bytes) -> dict[str, object]:
    """What botocore makes of a response body."""
    output = _MODEL.operation_model(operation).output_shape
    parsed = create_parser("rest-xml").parse(
        {"body": body, "headers": {}, "status_code": 200}, output
    )
    assert isinstance(parsed, dict)
    return parsed


def granted(policy: Acl, principal: Principal) -> set[Permission]:
    return {p for p in Permission if acl.allows(policy, principal, p)}


def assert_error(info: pytest.ExceptionInfo[S3Error], code: str, status: int = 400) -> None:
    assert (info.value.status, info.value.code) == (status, code)


# --------------------------------------------------------------------------- canned ACLs


def test_private_is_owner_full_control() -> None:
    expected = Acl("id-alice", "alice", (Grant(ALICE, P.FULL_CONTROL),))
    assert acl.private(ALICE) == expected
    assert acl.canned("private", ALICE) == expected
    assert acl.canned("private", ALICE, BOB) == expected


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("private", []),
        ("public-read", [(acl.group(ALL_USERS), P.READ)]),
        ("public-read-write", [(acl.group(ALL_USERS), P.READ), (acl.group(ALL_USERS), P.WRITE)]),
        ("authenticated-read", [(acl.group(AUTHENTICATED_USERS), P.READ)]),
        ("aws-exec-read", []),
        ("bucket-owner-read", [(BOB, P.READ)]),
        ("bucket-owner-full-control", [(BOB, P.FULL_CONTROL)]),
        (
            "log-delivery-write",
            [(acl.group(LOG_DELIVERY), P.WRITE), (acl.group(LOG_DELIVERY), P.READ_ACP)],
        ),
    ],
)
def test_canned_grants(name: str, extra: list[tuple[Grantee, Permission]]) -> None:
    result = acl.canned(name, ALICE, BOB)
    assert (result.owner_id, result.owner_name) == ("id-alice", "alice")
    assert result.grants == (
        Grant(ALICE, P.FULL_CONTROL),
        *(Grant(grantee, permission) for grantee, permission in extra),
    )
    assert name in acl.CANNED
    assert len(acl.CANNED) == 8


@pytest.mark.parametrize("name", ["bucket-owner-read", "bucket-owner-full-control"])
def test_bucket_owner_acls_on_buckets_and_own_objects(name: str) -> None:
    # Ignored when creating a bucket; no second grant when the bucket owner wrote the object.
    assert acl.canned(name, ALICE) == acl.private(ALICE)
    assert acl.canned(name, ALICE, acl.user("id-alice", "other name")) == acl.private(ALICE)


@pytest.mark.parametrize("name", ["", "Private", "public_read", "public-read ", "bogus"])
def test_unknown_canned_acl(name: str) -> None:
    with pytest.raises(errors.InvalidArgument):
        acl.canned(name, ALICE)


# --------------------------------------------------------------------------- allows


NONE: frozenset[Permission] = frozenset()
READ = frozenset({P.READ})
READ_WRITE = frozenset({P.READ, P.WRITE})

# What the anonymous caller, a stranger and the bucket owner (bob) may do
# under each canned ACL of an object alice wrote into bob's bucket; alice,
# the owner, has FULL_CONTROL under all of them.
_CANNED_MATRIX = {
    "private": (NONE, NONE, NONE),
    "public-read": (READ, READ, READ),
    "public-read-write": (READ_WRITE, READ_WRITE, READ_WRITE),
    "authenticated-read": (NONE, READ, READ),
    "aws-exec-read": (NONE, NONE, NONE),
    "bucket-owner-read": (NONE, NONE, READ),
    "bucket-owner-full-control": (NONE, NONE, ALL),
    "log-delivery-write": (NONE, NONE, NONE),
}


@pytest.mark.parametrize("name", sorted(_CANNED_MATRIX))
def test_allows_matrix(name: str) -> None:
    anonymous, stranger, bucket_owner = _CANNED_MATRIX[name]
    policy = acl.canned(name, ALICE, BOB)
    assert granted(policy, OWNER) == ALL
    assert granted(policy, ANONYMOUS) == anonymous
    assert granted(policy, STRANGER) == stranger
    assert granted(policy, BUCKET_OWNER) == bucket_owner


@pytest.mark.parametrize("permission", list(Permission))
def test_single_grant_to_a_user(permission: Permission) -> None:
    policy = Acl("id-alice", "alice", (Grant(CAROL, permission),))
    carol = Principal("carol", "u1", canonical_id="id-carol")
    expected = ALL if permission is P.FULL_CONTROL else {permission}
    assert granted(policy, carol) == expected
    assert granted(policy, STRANGER) == set()
    assert granted(policy, ANONYMOUS) == set()


def test_owner_keeps_acl_access_without_a_grant() -> None:
    # S3 lets the owner read and write the ACL even after revoking its own grants.
    policy = Acl("id-alice", "alice", (Grant(BOB, P.FULL_CONTROL),))
    assert granted(policy, OWNER) == {P.READ_ACP, P.WRITE_ACP}
    assert granted(Acl("id-alice", "alice", ()), OWNER) == {P.READ_ACP, P.WRITE_ACP}


def test_empty_ids_match_nobody() -> None:
    anonymous_with_empty_id = Principal(tenant="", user="", canonical_id="")
    policy = Acl("", "", (Grant(acl.user(""), P.FULL_CONTROL),))
    assert granted(policy, anonymous_with_empty_id) == set()
    assert granted(policy, Principal("t", "u", canonical_id="")) == set()


def test_anonymous_never_matches_a_canonical_user() -> None:
    odd = Principal(tenant="", user="", canonical_id="id-carol")
    policy = Acl("id-carol", "carol", (Grant(CAROL, P.FULL_CONTROL),))
    assert granted(policy, odd) == set()


def test_unresolved_email_and_log_delivery_match_nobody() -> None:
    policy = Acl(
        "id-alice",
        "alice",
        (
            Grant(Grantee(acl.BY_EMAIL, "dave@example.com"), P.FULL_CONTROL),
            Grant(acl.group(LOG_DELIVERY), P.FULL_CONTROL),
            Grant(acl.group("http://example.com/other"), P.FULL_CONTROL),
        ),
    )
    for principal in (ANONYMOUS, STRANGER, BUCKET_OWNER):
        assert granted(policy, principal) == set()


def test_is_public() -> None:
    assert acl.is_public(acl.canned("public-read", ALICE))
    assert acl.is_public(acl.canned("public-read-write", ALICE))
    assert acl.is_public(acl.canned("authenticated-read", ALICE))
    for name in ("private", "log-delivery-write", "bucket-owner-full-control", "aws-exec-read"):
        assert not acl.is_public(acl.canned(name, ALICE, BOB))


def test_action_tables_follow_aws() -> None:
    assert dict(acl.BUCKET_ACL_ACTIONS) == {
        "s3:ListBucket": P.READ,
        "s3:ListBucketVersions": P.READ,
        "s3:ListBucketMultipartUploads": P.READ,
        "s3:PutObject": P.WRITE,
        "s3:DeleteObject": P.WRITE,
        "s3:DeleteObjectVersion": P.WRITE,
        "s3:GetBucketAcl": P.READ_ACP,
        "s3:PutBucketAcl": P.WRITE_ACP,
    }
    assert dict(acl.OBJECT_ACL_ACTIONS) == {
        "s3:GetObject": P.READ,
        "s3:GetObjectVersion": P.READ,
        "s3:GetObjectAcl": P.READ_ACP,
        "s3:GetObjectVersionAcl": P.READ_ACP,
        "s3:PutObjectAcl": P.WRITE_ACP,
        "s3:PutObjectVersionAcl": P.WRITE_ACP,
    }
    assert acl.PERMISSION_FOR["bucket"] is acl.BUCKET_ACL_ACTIONS
    assert acl.PERMISSION_FOR["object"] is acl.OBJECT_ACL_ACTIONS
    # WRITE is not applicable to objects.
    assert P.WRITE not in set(acl.OBJECT_ACL_ACTIONS.values())


# --------------------------------------------------------------------------- dumps / loads

_TEXT = st.text(max_size=20)
_GRANTEES = st.one_of(
    st.builds(acl.user, _TEXT, _TEXT),
    st.builds(acl.group, st.sampled_from(sorted(acl.GROUPS))),
    st.builds(Grantee, st.just(acl.BY_EMAIL), _TEXT),
)
_ACLS = st.builds(
    Acl,
    _TEXT,
    _TEXT,
    st.lists(st.builds(Grant, _GRANTEES, st.sampled_from(list(Permission))), max_size=5).map(tuple),
)


@given(_ACLS)
def test_dumps_loads_round_trip(policy: Acl) -> None:
    assert acl.loads(acl.dumps(policy)) == policy


def test_dumps_is_compact_json() -> None:
    text = acl.dumps(acl.canned("public-read", ALICE))
    assert text == (
        '{"o":["id-alice","alice"],"g":[["CanonicalUser","id-alice","alice","FULL_CONTROL"],'
        f'["Group","{ALL_USERS}","","READ"]]}}'
    )
    assert json.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        "{}",
        '{"o":["a"],"g":[]}',
        '{"o":["a","b"],"g":[["CanonicalUser","x","","SOME"]]}',
        '{"o":["a","b"],"g":[["CanonicalUser","x",""]]}',
        '{"o":["a","b"],"g":[["Role","x","","READ"]]}',
        '{"o":["a","b"],"g":[["CanonicalUser",1,"","READ"]]}',
        '{"o":[1,"b"],"g":[]}',
        '{"o":["a","b"],"g":7}',
    ],
)
def test_loads_damaged(text: str) -> None:
    assert acl.loads('{"o":["a","b"],"g":[["CanonicalUser","x","","READ"]]}') == Acl(
        "a", "b", (Grant(acl.user("x"), P.READ),)
    )
    with pytest.raises(errors.StorageError):
        acl.loads(text)


# --------------------------------------------------------------------------- render


def test_render_acl() -> None:
    policy = Acl(
        "id-alice",
        "alice",
        (
            Grant(ALICE, P.FULL_CONTROL),
            Grant(acl.user("id-x"), P.WRITE),
            Grant(acl.group(ALL_USERS), P.READ),
            Grant(Grantee(acl.BY_EMAIL, "x&y@example.com"), P.READ_ACP),
        ),
    )
    grantee = f'<Grantee xmlns:xsi="{XSI}" xsi:type='
    assert acl_xml.render_acl(policy).decode() == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<AccessControlPolicy xmlns="{NS}">'
        "<Owner><ID>id-alice</ID><DisplayName>alice</DisplayName></Owner>"
        "<AccessControlList>"
        f'<Grant>{grantee}"CanonicalUser"><ID>id-alice</ID><DisplayName>alice</DisplayName>'
        "</Grantee><Permission>FULL_CONTROL</Permission></Grant>"
        f'<Grant>{grantee}"CanonicalUser"><ID>id-x</ID></Grantee>'
        "<Permission>WRITE</Permission></Grant>"
        f'<Grant>{grantee}"Group"><URI>{ALL_USERS}</URI></Grantee>'
        "<Permission>READ</Permission></Grant>"
        f'<Grant>{grantee}"AmazonCustomerByEmail"><EmailAddress>x&amp;y@example.com'
        "</EmailAddress></Grantee><Permission>READ_ACP</Permission></Grant>"
        "</AccessControlList></AccessControlPolicy>"
    )


def test_render_is_what_botocore_reads() -> None:
    body = acl_xml.render_acl(acl.canned("public-read", ALICE))
    parsed = boto_parse("GetBucketAcl", body)
    assert parsed["Owner"] == {"ID": "id-alice", "DisplayName": "alice"}
    assert parsed["Grants"] == [
        {
            "Grantee": {"ID": "id-alice", "DisplayName": "alice", "Type": "CanonicalUser"},
            "Permission": "FULL_CONTROL",
        },
        {"Grantee": {"URI": ALL_USERS, "Type": "Group"}, "Permission": "READ"},
    ]


def test_render_empty_acl() -> None:
    body = acl_xml.render_acl(Acl("id-alice", "", ()))
    root = ET.fromstring(body)
    assert root.findtext(f"{{{NS}}}Owner/{{{NS}}}ID") == "id-alice"
    assert root.find(f"{{{NS}}}Owner/{{{NS}}}DisplayName") is None
    acl_list = root.find(f"{{{NS}}}AccessControlList")
    assert acl_list is not None
    assert list(acl_list) == []
    assert boto_parse("GetObjectAcl", body)["Owner"] == {"ID": "id-alice"}


# --------------------------------------------------------------------------- parse


def test_parse_from_botocore() -> None:
    body = boto_body(
        "PutBucketAcl",
        {
            "Bucket": "b",
            "AccessControlPolicy": {
                "Owner": {"ID": "id-alice", "DisplayName": "alice"},
                "Grants": [
                    {"Grantee": {"Type": "CanonicalUser", "ID": "id-bob"}, "Permission": "WRITE"},
                    {
                        "Grantee": {"Type": "Group", "URI": AUTHENTICATED_USERS},
                        "Permission": "READ",
                    },
                    {
                        "Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "c@x.org"},
                        "Permission": "WRITE_ACP",
                    },
                ],
            },
        },
    )
    assert acl_xml.parse_acl(body) == Acl(
        "id-alice",
        "alice",
        (
            Grant(acl.user("id-bob"), P.WRITE),
            Grant(acl.group(AUTHENTICATED_USERS), P.READ),
            Grant(Grantee(acl.BY_EMAIL, "c@x.org"), P.WRITE_ACP),
        ),
    )


# The sample ACL of the AWS "Access control list (ACL) overview" page.
AWS_SAMPLE = f"""<?xml version="1.0" encoding="UTF-8"?>
<AccessControlPolicy xmlns="{NS}">
  <Owner>
    <ID>Owner-canonical-user-ID</ID>
  </Owner>
  <AccessControlList>
    <Grant>
      <Grantee xmlns:xsi="{XSI}" xsi:type="CanonicalUser">
        <ID>Owner-canonical-user-ID</ID>
      </Grantee>
      <Permission>FULL_CONTROL</Permission>
    </Grant>
    <Grant>
      <Grantee xmlns:xsi="{XSI}" xsi:type="CanonicalUser">
        <ID>user1-canonical-user-ID</ID>
      </Grantee>
      <Permission>WRITE</Permission>
    </Grant>
    <Grant>
      <Grantee xmlns:xsi="{XSI}" xsi:type="Group">
        <URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>
      </Grantee>
      <Permission>READ</Permission>
    </Grant>
    <Grant>
      <Grantee xmlns:xsi="{XSI}" xsi:type="Group">
        <URI>http://acs.amazonaws.com/groups/s3/LogDelivery</URI>
      </Grantee>
      <Permission>WRITE</Permission>
    </Grant>
  </AccessControlList>
</AccessControlPolicy>""".encode()


def test_parse_aws_sample() -> None:
    assert acl_xml.parse_acl(AWS_SAMPLE) == Acl(
        "Owner-canonical-user-ID",
        "",
        (
            Grant(acl.user("Owner-canonical-user-ID"), P.FULL_CONTROL),
            Grant(acl.user("user1-canonical-user-ID"), P.WRITE),
            Grant(acl.group(ALL_USERS), P.READ),
            Grant(acl.group(LOG_DELIVERY), P.WRITE),
        ),
    )


def test_parse_does_not_add_owner_grant() -> None:
    body = (
        f"<AccessControlPolicy><Owner><ID>id-alice</ID></Owner><AccessControlList>"
        f'<Grant><Grantee xmlns:xsi="{XSI}" xsi:type="CanonicalUser"><ID>id-bob</ID></Grantee>'
        "<Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>"
    ).encode()
    assert acl_xml.parse_acl(body).grants == (Grant(acl.user("id-bob"), P.FULL_CONTROL),)
    empty = (
        b"<AccessControlPolicy><Owner><ID>a</ID></Owner><AccessControlList/></AccessControlPolicy>"
    )
    assert acl_xml.parse_acl(empty) == Acl("a", "", ())


_SAFE_TEXT = st.text(string.ascii_letters + string.digits + "&<>'\"-_.@:/ é", min_size=1).filter(
    lambda s: s == s.strip()
)
_SAFE_GRANTEES = st.one_of(
    st.builds(acl.user, _SAFE_TEXT, st.one_of(st.just(""), _SAFE_TEXT)),
    st.builds(acl.group, st.sampled_from(sorted(acl.GROUPS))),
    st.builds(Grantee, st.just(acl.BY_EMAIL), _SAFE_TEXT),
)


@given(
    _SAFE_TEXT,
    st.one_of(st.just(""), _SAFE_TEXT),
    st.lists(st.builds(Grant, _SAFE_GRANTEES, st.sampled_from(list(Permission))), max_size=8),
)
def test_render_parse_round_trip(owner_id: str, owner_name: str, grants: list[Grant]) -> None:
    policy = Acl(owner_id, owner_name, tuple(grants))
    assert acl_xml.parse_acl(acl_xml.render_acl(policy)) == policy


def _policy(grants: str, owner: str = "<Owner><ID>o</ID></Owner>") -> bytes:
    return (
        f'<AccessControlPolicy xmlns="{NS}" xmlns:xsi="{XSI}">{owner}'
        f"<AccessControlList>{grants}</AccessControlList></AccessControlPolicy>"
    ).encode()


def _grant(grantee: str, permission: str = "READ", kind: str = "CanonicalUser") -> str:
    return (
        f'<Grant><Grantee xsi:type="{kind}">{grantee}</Grantee>'
        f"<Permission>{permission}</Permission></Grant>"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<AccessControlPolicy>",
        b"<Policy><Owner><ID>o</ID></Owner><AccessControlList/></Policy>",
        b"<AccessControlPolicy><AccessControlList/></AccessControlPolicy>",  # no Owner
        b"<AccessControlPolicy><Owner><ID>o</ID></Owner></AccessControlPolicy>",  # no list
        _policy(_grant("<ID>x</ID>", "READ_WRITE")),
        _policy(_grant("<ID>x</ID>", "read")),
        _policy(_grant("<ID>x</ID>", "")),
        _policy(_grant("<ID>x</ID>", kind="Canonical User")),
        _policy(_grant("<ID>x</ID>", kind="Role")),
        _policy("<Grant><Grantee><ID>x</ID></Grantee><Permission>READ</Permission></Grant>"),
        _policy("<Grant><Permission>READ</Permission></Grant>"),
        _policy('<Grant><Grantee xsi:type="Group"><URI>x</URI></Grantee></Grant>'),
        _policy(_grant("", kind="Group")),  # no URI
        _policy(_grant("", kind="AmazonCustomerByEmail")),  # no address
        _policy(_grant("<ID>x</ID><ID>y</ID>")),
        _policy(_grant("<ID>x</ID>") + "<Grant><Grantee/><Permission>READ</Permission></Grant>"),
        _policy("", "<Owner><ID>o</ID></Owner><Owner><ID>p</ID></Owner>"),
        # xsi:type in no namespace, or an unbound prefix.
        b"<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList><Grant>"
        b'<Grantee type="CanonicalUser"><ID>x</ID></Grantee><Permission>READ</Permission>'
        b"</Grant></AccessControlList></AccessControlPolicy>",
        b"<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList><Grant>"
        b'<Grantee xsi:type="CanonicalUser"><ID>x</ID></Grantee><Permission>READ</Permission>'
        b"</Grant></AccessControlList></AccessControlPolicy>",
    ],
)
def test_parse_malformed(body: bytes) -> None:
    with pytest.raises(S3Error) as info:
        acl_xml.parse_acl(body)
    assert_error(info, "MalformedACLError")
    assert info.value.message == MALFORMED_MESSAGE


@pytest.mark.parametrize(
    ("body", "name", "value"),
    [
        (_policy(_grant("<URI>http://acs.amazonaws.com/groups/global/Nobody</URI>", kind="Group")),
         "Group/URI", "http://acs.amazonaws.com/groups/global/Nobody"),
        (_policy(_grant("<ID> </ID>")), "CanonicalUser/ID", ""),
        (_policy(_grant("<DisplayName>x</DisplayName>")), "CanonicalUser/ID", ""),
        (_policy("", "<Owner><DisplayName>o</DisplayName></Owner>"), "CanonicalUser/ID", ""),
    ],
)  # fmt: skip
def test_parse_invalid_argument(body: bytes, name: str, value: str) -> None:
    with pytest.raises(S3Error) as info:
        acl_xml.parse_acl(body)
    assert_error(info, "InvalidArgument")
    assert info.value.fields == {"ArgumentName": name, "ArgumentValue": value}


def _grants(count: int) -> bytes:
    return _policy(_grant("<ID>x</ID>") * count)


def test_parse_grant_limit() -> None:
    assert len(acl_xml.parse_acl(_grants(acl.MAX_GRANTS)).grants) == 100
    with pytest.raises(S3Error) as info:
        acl_xml.parse_acl(_grants(acl.MAX_GRANTS + 1))
    assert_error(info, "MalformedACLError")


def test_parse_body_size_limit() -> None:
    body = _policy(" " * xml.MAX_CONFIG_BODY)
    with pytest.raises(S3Error) as info:
        acl_xml.parse_acl(body)
    assert_error(info, "MaxMessageLengthExceeded")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<AccessControlPolicy><Owner><ID>&lol3;</ID></Owner><AccessControlList/></AccessControlPolicy>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<AccessControlPolicy><Owner><ID>&xxe;</ID></Owner><AccessControlList/></AccessControlPolicy>"""

DTD_ONLY = b"""<?xml version="1.0"?><!DOCTYPE AccessControlPolicy SYSTEM "http://example.com/x.dtd">
<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList/></AccessControlPolicy>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, DTD_ONLY])
def test_hostile_xml_is_malformed_acl(body: bytes) -> None:
    with pytest.raises(S3Error) as info:
        acl_xml.parse_acl(body)
    assert_error(info, "MalformedACLError")


_XMLISH = st.lists(
    st.sampled_from(
        [
            *"<>/=\"'&;#x!?- :",
            *("AccessControlPolicy", "Owner", "ID", "AccessControlList", "Grant", "Grantee"),
            *("Permission", "READ", "URI", "xsi:type", "Group", "CanonicalUser", ALL_USERS),
            *(f'xmlns:xsi="{XSI}"', "<!DOCTYPE", "<!ENTITY", "&amp;"),
        ]
    ),
    max_size=40,
).map("".join)


@given(st.one_of(st.binary(max_size=300), _XMLISH.map(str.encode)))
def test_parse_only_raises_s3_errors(body: bytes) -> None:
    with contextlib.suppress(S3Error):
        acl_xml.parse_acl(body)


# --------------------------------------------------------------------------- resolving


def _emails(address: str) -> Grantee | None:
    return {"carol@example.com": CAROL}.get(address)


def test_resolve_grantees() -> None:
    policy = Acl(
        "id-alice",
        "",
        (
            Grant(Grantee(acl.BY_EMAIL, "carol@example.com"), P.READ),
            Grant(acl.user("id-bob"), P.WRITE),
            Grant(acl.group(ALL_USERS), P.READ),
        ),
    )
    resolved = acl_xml.resolve_grantees(policy, _emails)
    assert resolved.grants == (
        Grant(CAROL, P.READ),
        Grant(acl.user("id-bob"), P.WRITE),
        Grant(acl.group(ALL_USERS), P.READ),
    )
    with_names = acl_xml.resolve_grantees(policy, _emails, {"id-bob": BOB}.get)
    assert with_names.grants[1] == Grant(BOB, P.WRITE)
    assert acl_xml.resolve_grantees(policy, None) == policy


def test_resolve_errors() -> None:
    policy = Acl("o", "", (Grant(Grantee(acl.BY_EMAIL, "nobody@example.com"), P.READ),))
    with pytest.raises(S3Error) as info:
        acl_xml.resolve_grantees(policy, _emails)
    assert_error(info, "UnresolvableGrantByEmailAddress")
    policy = Acl("o", "", (Grant(acl.user("id-nobody"), P.READ),))
    with pytest.raises(S3Error) as info:
        acl_xml.resolve_grantees(policy, _emails, {"id-bob": BOB}.get)
    assert_error(info, "InvalidArgument")
    assert info.value.fields["ArgumentValue"] == "id-nobody"


# --------------------------------------------------------------------------- headers


def from_headers(headers: dict[str, str], bucket_owner: Grantee | None = None) -> Acl | None:
    return acl_xml.acl_from_headers(headers, ALICE, bucket_owner, _emails)


def test_no_acl_headers() -> None:
    assert from_headers({}) is None
    assert from_headers({"content-type": "text/plain", "x-amz-grant": "id=x"}) is None


def test_canned_header() -> None:
    assert from_headers({"x-amz-acl": "public-read"}) == acl.canned("public-read", ALICE)
    assert from_headers({"x-amz-acl": "bucket-owner-read"}, BOB) == acl.canned(
        "bucket-owner-read", ALICE, BOB
    )


def test_unknown_canned_header() -> None:
    with pytest.raises(S3Error) as info:
        from_headers({"x-amz-acl": "public"})
    assert_error(info, "InvalidArgument")
    assert info.value.fields == {"ArgumentName": "x-amz-acl", "ArgumentValue": "public"}


def test_canned_and_grant_headers() -> None:
    with pytest.raises(S3Error) as info:
        from_headers({"x-amz-acl": "private", "x-amz-grant-read": f'uri="{ALL_USERS}"'})
    assert_error(info, "InvalidRequest")
    assert info.value.message == "Specifying both Canned ACLs and Header Grants is not allowed"


def test_grant_headers() -> None:
    headers = {
        "x-amz-grant-full-control": 'id="id-bob"',
        "x-amz-grant-read": f'uri="{ALL_USERS}", emailAddress="carol@example.com",id=id-x',
        "x-amz-grant-write": f' uri = "{LOG_DELIVERY}" ',
        "x-amz-grant-read-acp": 'ID="id-bob"',
        "x-amz-grant-write-acp": 'EmailAddress="carol@example.com"',
    }
    # Exactly the grants listed, in header order: the owner is not added.
    assert from_headers(headers) == Acl(
        "id-alice",
        "alice",
        (
            Grant(acl.group(ALL_USERS), P.READ),
            Grant(CAROL, P.READ),
            Grant(acl.user("id-x"), P.READ),
            Grant(acl.group(LOG_DELIVERY), P.WRITE),
            Grant(acl.user("id-bob"), P.READ_ACP),
            Grant(CAROL, P.WRITE_ACP),
            Grant(acl.user("id-bob"), P.FULL_CONTROL),
        ),
    )


def test_grant_headers_resolve_ids() -> None:
    result = acl_xml.acl_from_headers(
        {"x-amz-grant-read": 'id="id-bob"'}, ALICE, None, None, resolve_id={"id-bob": BOB}.get
    )
    assert result is not None
    assert result.grants == (Grant(BOB, P.READ),)


@pytest.mark.parametrize(
    ("value", "code", "fields"),
    [
        ('emailAddress="nobody@example.com"', "UnresolvableGrantByEmailAddress", None),
        ('uri="http://acs.amazonaws.com/groups/global/Everyone"', "InvalidArgument",
         {"ArgumentName": "uri", "ArgumentValue": "http://acs.amazonaws.com/groups/global/Everyone"}),
        ('id=""', "InvalidArgument", {"ArgumentName": "id", "ArgumentValue": ""}),
        ('name="x"', "InvalidArgument",
         {"ArgumentName": "x-amz-grant-read", "ArgumentValue": 'name="x"'}),
        ("id-bob", "InvalidArgument",
         {"ArgumentName": "x-amz-grant-read", "ArgumentValue": "id-bob"}),
        ('id="a",', "InvalidArgument", {"ArgumentName": "x-amz-grant-read", "ArgumentValue": ""}),
        ("", "InvalidArgument", {"ArgumentName": "x-amz-grant-read", "ArgumentValue": ""}),
    ],
)  # fmt: skip
def test_grant_header_errors(value: str, code: str, fields: dict[str, str] | None) -> None:
    with pytest.raises(S3Error) as info:
        from_headers({"x-amz-grant-read": value})
    assert_error(info, code)
    if fields is not None:
        assert info.value.fields == fields


def test_grant_header_limit() -> None:
    def ids(count: int) -> str:
        return ", ".join(f'id="u{i}"' for i in range(count))

    result = from_headers({"x-amz-grant-read": ids(60), "x-amz-grant-write": ids(40)})
    assert result is not None
    assert len(result.grants) == acl.MAX_GRANTS
    with pytest.raises(S3Error) as info:
        from_headers({"x-amz-grant-read": ids(60), "x-amz-grant-write": ids(41)})
    assert_error(info, "MalformedACLError")
