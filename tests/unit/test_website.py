"""Static websites: the XML of PutBucketWebsite, S3's checks, routing rules, anonymous reads."""

from __future__ import annotations

import json

import pytest
from corekit import ALICE, BOB, body, make_core

from dolium.config_load import load_config
from dolium.core.access.decisions import ANONYMOUS
from dolium.core.buckets.website import (
    Condition,
    Redirect,
    RedirectAll,
    RoutingRule,
    Target,
    Website,
    WebsiteConfig,
    from_json,
    index_key,
    match,
    to_json,
)
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import (
    AccessDenied,
    ConfigError,
    InvalidArgument,
    InvalidRequest,
    MalformedConfiguration,
    NoSuchKey,
)
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.ops.website import parse_website, render_website, site_of
from dolium.frontends.s3.rules.website import check_website
from dolium.model import Bucket

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def doc(inner: str) -> bytes:
    return f"<WebsiteConfiguration {NS}>{inner}</WebsiteConfiguration>".encode()


INDEX = "<IndexDocument><Suffix>index.html</Suffix></IndexDocument>"
FULL = doc(
    INDEX
    + "<ErrorDocument><Key>error.html</Key></ErrorDocument>"
    + "<RoutingRules>"
    + "<RoutingRule><Condition><KeyPrefixEquals>docs/</KeyPrefixEquals></Condition>"
    + "<Redirect><ReplaceKeyPrefixWith>documents/</ReplaceKeyPrefixWith></Redirect></RoutingRule>"
    + "<RoutingRule><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals>"
    + "</Condition><Redirect><HostName>example.com</HostName><Protocol>https</Protocol>"
    + "<HttpRedirectCode>302</HttpRedirectCode><ReplaceKeyWith>lost.html</ReplaceKeyWith>"
    + "</Redirect></RoutingRule>"
    + "</RoutingRules>"
)


def site(*rules: RoutingRule) -> WebsiteConfig:
    return WebsiteConfig(index_suffix="index.html", rules=rules, has_rules=bool(rules))


def rule(
    redirect: Redirect | None = None,
    prefix: str | None = None,
    code: str | None = None,
    *,
    no_condition: bool = False,
) -> RoutingRule:
    condition = None if no_condition else Condition(prefix, code)
    return RoutingRule(redirect or Redirect(host="example.com"), condition)


# --------------------------------------------------------------------------- XML


def test_parse_reads_every_element() -> None:
    config = parse_website(FULL)
    assert config.index_suffix == "index.html"
    assert config.error_key == "error.html"
    assert config.redirect_all is None
    assert config.rules == (
        RoutingRule(Redirect(replace_key_prefix="documents/"), Condition(key_prefix="docs/")),
        RoutingRule(
            Redirect(host="example.com", protocol="https", code="302", replace_key="lost.html"),
            Condition(error_code="404"),
        ),
    )


def test_render_reads_back_as_given() -> None:
    config = parse_website(FULL)
    assert parse_website(render_website(config)) == config
    text = render_website(config).decode()
    assert "<KeyPrefixEquals>docs/</KeyPrefixEquals>" in text
    assert "<HttpRedirectCode>302</HttpRedirectCode>" in text
    redirect_all = parse_website(
        doc("<RedirectAllRequestsTo><HostName>example.org</HostName></RedirectAllRequestsTo>")
    )
    assert redirect_all.redirect_all == RedirectAll("example.org", None)
    assert "<Protocol>" not in render_website(redirect_all).decode()


@pytest.mark.parametrize(
    "inner",
    [
        INDEX + INDEX,  # repeated
        INDEX + "<Unknown/>",
        INDEX + "<ErrorDocument></ErrorDocument>",
        "<RedirectAllRequestsTo><Protocol>https</Protocol></RedirectAllRequestsTo>",
        INDEX + "<RoutingRules><RoutingRule><Condition><KeyPrefixEquals>a</KeyPrefixEquals>"
        "</Condition></RoutingRule></RoutingRules>",  # no Redirect
        INDEX + "<RoutingRules><Rule/></RoutingRules>",
        "<IndexDocument><Suffix>a</Suffix><Suffix>b</Suffix></IndexDocument>",
    ],
)
def test_schema_violations_are_malformed(inner: str) -> None:
    with pytest.raises(S3Error) as caught:
        parse_website(doc(inner))
    assert caught.value.code == "MalformedXML"


def test_wrong_root_is_malformed() -> None:
    with pytest.raises(S3Error):
        parse_website(b"<Website><IndexDocument/></Website>")


# --------------------------------------------------------------------------- S3's checks


def test_valid_configurations_pass() -> None:
    check_website(parse_website(FULL))
    check_website(WebsiteConfig(redirect_all=RedirectAll("example.org", "https")))
    check_website(site(rule(Redirect(code="307"), prefix="a")))


def test_index_document_is_required_without_redirect_all() -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_website(WebsiteConfig())
    assert caught.value.message == (
        "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty"
    )
    assert caught.value.context == {"argument_name": "IndexDocument", "argument_value": "null"}


@pytest.mark.parametrize("suffix", ["", "a/index.html"])
def test_index_suffix_must_be_a_name(suffix: str) -> None:
    with pytest.raises(InvalidArgument, match="The IndexDocument Suffix is not well formed"):
        check_website(WebsiteConfig(index_suffix=suffix))


def test_redirect_all_stands_alone() -> None:
    with pytest.raises(InvalidArgument, match="RedirectAllRequestsTo cannot be provided"):
        check_website(WebsiteConfig(index_suffix="i.html", redirect_all=RedirectAll("example.org")))


@pytest.mark.parametrize(
    "config",
    [
        WebsiteConfig(redirect_all=RedirectAll("example.org", "ftp")),
        site(rule(Redirect(protocol="HTTP"), prefix="a")),
    ],
)
def test_protocol_is_http_or_https(config: WebsiteConfig) -> None:
    with pytest.raises(InvalidRequest, match="Invalid protocol, protocol can be http or https"):
        check_website(config)


def test_rule_checks() -> None:
    with pytest.raises(InvalidRequest, match="Condition cannot be empty"):
        check_website(site(rule(prefix=None, code=None)))
    with pytest.raises(InvalidRequest) as caught:
        check_website(site(rule(Redirect(replace_key="a", replace_key_prefix="b/"), prefix="a")))
    assert caught.value.message == (
        "You can only define ReplaceKeyPrefix or ReplaceKey but not both."
    )
    with pytest.raises(InvalidRequest) as caught:
        check_website(site(rule(code="302")))
    assert caught.value.message == (
        "The provided HTTP error code (302) is not valid. Valid codes are 4XX or 5XX."
    )
    with pytest.raises(InvalidRequest) as caught:
        check_website(site(rule(Redirect(code="300"), prefix="a")))
    assert caught.value.message == (
        "The provided HTTP redirect code (300) is not valid. Valid codes are 3XX except 300."
    )
    with pytest.raises(MalformedConfiguration):
        check_website(site(rule(code="four")))
    with pytest.raises(MalformedConfiguration):
        check_website(WebsiteConfig(index_suffix="i.html", has_rules=True))


def test_at_most_fifty_rules() -> None:
    check_website(site(*[rule(prefix=str(i)) for i in range(50)]))
    with pytest.raises(InvalidRequest) as caught:
        check_website(site(*[rule(prefix=str(i)) for i in range(51)]))
    assert caught.value.message == (
        "51 routing rules provided, the number of routing rules in a website configuration "
        "is limited to 50."
    )
    assert not isinstance(caught.value, InvalidArgument)


def test_json_round_trip() -> None:
    config = parse_website(FULL)
    assert from_json(to_json(config)) == config
    redirect_all = WebsiteConfig(redirect_all=RedirectAll("example.org", "https"))
    assert from_json(to_json(redirect_all)) == redirect_all


# --------------------------------------------------------------------------- routing


def test_index_key() -> None:
    assert index_key("", "index.html") == "index.html"
    assert index_key("docs/", "index.html") == "docs/index.html"
    assert index_key("docs", "index.html") == "docs"
    assert index_key("a.html", "index.html") == "a.html"


def test_prefix_rules_apply_before_reading() -> None:
    rules = parse_website(FULL).rules
    assert match(rules, "docs/a.html") == Target("documents/a.html", None, None, 301)
    assert match(rules, "docs/") == Target("documents/", None, None, 301)
    assert match(rules, "other.html") is None  # the 404 rule waits for an error
    assert match(rules, "doc") is None


def test_error_rules_apply_after_their_error() -> None:
    rules = parse_website(FULL).rules
    assert match(rules, "x.html", 404) == Target("lost.html", "example.com", "https", 302)
    assert match(rules, "x.html", 403) is None
    # A prefix-only rule never answers an error.
    assert match(rules, "docs/x", 403) is None


def test_both_conditions_must_hold() -> None:
    both = (rule(Redirect(replace_key_prefix="new/"), prefix="old/", code="404"),)
    assert match(both, "old/a", 404) == Target("new/a", None, None, 301)
    assert match(both, "other/a", 404) is None
    assert match(both, "old/a") is None


def test_first_matching_rule_wins() -> None:
    rules = (
        rule(Redirect(replace_key="first"), prefix="a"),
        rule(Redirect(replace_key="second"), prefix="ab"),
    )
    assert match(rules, "abc") == Target("first", None, None, 301)


def test_rule_without_condition_redirects_everything() -> None:
    rules = (rule(Redirect(host="example.com", replace_key_prefix="x/"), no_condition=True),)
    assert match(rules, "a/b") == Target("x/a/b", "example.com", None, 301)
    assert match(rules, "a/b", 404) is None


def test_website_domains_setting() -> None:
    config = load_config(env={"DOLIUM_WEBSITE_DOMAINS": "S3-Website.Localhost., web.test"})
    assert config.website_domains == ["s3-website.localhost", "web.test"]
    assert load_config().website_domains == []
    with pytest.raises(ConfigError, match=r"website_domains: web\.test is in domains too"):
        load_config(env={"DOLIUM_DOMAINS": "web.test", "DOLIUM_WEBSITE_DOMAINS": "web.test"})
    with pytest.raises(ConfigError, match="website_domains"):
        load_config(env={"DOLIUM_WEBSITE_DOMAINS": "not a domain"})


def test_website_hosts() -> None:
    domains = ("s3-website.localhost",)
    assert site_of("site.s3-website.localhost", domains) == "site"
    assert site_of("Site.S3-Website.Localhost:9000", domains) == "site"
    assert site_of("s3-website.localhost", domains) == ""
    assert site_of("site.localhost", domains) is None
    assert site_of("site.xs3-website.localhost", domains) is None


# --------------------------------------------------------------------------- anonymous reads


async def _site_with(policy: dict[str, object] | None) -> tuple[Website, Bucket]:
    core = make_core()
    store = core.store
    await store.buckets.create(ALICE, "site")
    for key in ("index.html", "private.html"):
        await store.objects.put(ALICE, "site", key, body(b"<p>x</p>"), WriteOptions())
    if policy is not None:
        await core.meta.set_bucket_config("site", "policy", json.dumps(policy))
    web = Website(store.ctx)
    bucket, config = await web.site("site")
    assert config is None
    return web, bucket


def _policy(*actions: str) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": list(actions),
                "Resource": ["arn:aws:s3:::site", "arn:aws:s3:::site/*"],
            },
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::site/private.html",
            },
        ],
    }


async def test_private_bucket_reveals_nothing() -> None:
    web, bucket = await _site_with(None)
    for key in ("index.html", "missing.html"):
        with pytest.raises(AccessDenied):
            await web.read(ANONYMOUS, bucket, key)


async def test_public_policy_serves_and_tells_missing() -> None:
    web, bucket = await _site_with(_policy("s3:GetObject"))
    version = await web.read(ANONYMOUS, bucket, "index.html")
    assert version.key == "index.html"
    with pytest.raises(NoSuchKey):
        await web.read(ANONYMOUS, bucket, "missing.html")
    with pytest.raises(AccessDenied):
        await web.read(ANONYMOUS, bucket, "private.html")


async def test_others_are_anonymous_too() -> None:
    web, bucket = await _site_with(None)
    with pytest.raises(AccessDenied):
        await web.read(BOB, bucket, "index.html")


async def test_put_checks_before_storing() -> None:
    core = make_core()
    await core.store.buckets.create(ALICE, "site")
    web = Website(core.store.ctx)
    with pytest.raises(InvalidArgument):
        await web.put(ALICE, "site", WebsiteConfig(), approve=check_website)
    assert await web.get(ALICE, "site") is None
    with pytest.raises(AccessDenied):
        await web.put(BOB, "site", site())
    # The caller's permission is checked before the front end's rules.
    with pytest.raises(AccessDenied):
        await web.put(BOB, "site", WebsiteConfig(), approve=check_website)
    await web.put(ALICE, "site", site())
    assert await web.get(ALICE, "site") == site()
    await web.delete(ALICE, "site")
    await web.delete(ALICE, "site")
    assert await web.get(ALICE, "site") is None
