"""Swift v1 auth against a live server: tokens, storage URLs, refusals."""

from __future__ import annotations

from pathlib import Path

import httpx
from conftest import LiveServer, running
from swift_support import add_user, new_account


def test_login_returns_a_token_and_the_storage_url(server: LiveServer) -> None:
    account = new_account(server)
    answer = httpx.get(
        account.auth_url,
        headers={"X-Auth-User": f"{account.tenant}:owner", "X-Auth-Key": account.secret},
    )
    assert answer.status_code == 200
    assert answer.headers["x-storage-url"] == account.url
    assert answer.headers["x-auth-token"].startswith("AUTH_tk")
    assert answer.headers["x-storage-token"] == answer.headers["x-auth-token"]
    assert 0 < int(answer.headers["x-auth-token-expires"]) <= 24 * 3600
    assert answer.headers["x-trans-id"].startswith("tx")


def test_the_storage_url_follows_the_host_and_a_forwarded_scheme(server: LiveServer) -> None:
    account = new_account(server)
    answer = httpx.get(
        account.auth_url,
        headers={
            "X-Storage-User": f"{account.tenant}:owner",
            "X-Storage-Pass": account.secret,
            "Host": "swift.example.com",
            "X-Forwarded-Proto": "https",
        },
    )
    assert answer.status_code == 200
    assert answer.headers["x-storage-url"] == f"https://swift.example.com/v1/AUTH_{account.tenant}"


def test_bad_credentials_are_401(server: LiveServer) -> None:
    account = new_account(server)
    for user, key in [
        (f"{account.tenant}:owner", "wrong"),
        (f"{account.tenant}:nobody", account.secret),
        ("nosuch:owner", account.secret),
        ("no-colon", account.secret),
        (f"{account.tenant}:owner", ""),
    ]:
        answer = httpx.get(account.auth_url, headers={"X-Auth-User": user, "X-Auth-Key": key})
        assert answer.status_code == 401, (user, answer.text)
        assert "Unauthorized" in answer.text
        assert "x-auth-token" not in answer.headers


def test_requests_need_a_valid_token(server: LiveServer) -> None:
    account = new_account(server)
    assert httpx.get(account.url).status_code == 401
    assert httpx.get(account.url, headers={"X-Auth-Token": "AUTH_tkforged.x"}).status_code == 401
    _, token = account.login()
    # A token altered by one character is refused.
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert httpx.get(account.url, headers={"X-Auth-Token": tampered}).status_code == 401
    assert httpx.head(account.url, headers={"X-Auth-Token": token}).status_code == 204


def test_a_token_is_accepted_in_the_query(server: LiveServer) -> None:
    account = new_account(server)
    _, token = account.login()
    answer = httpx.get(account.url, params={"X-Auth-Token": token, "format": "json"})
    assert answer.status_code == 200
    assert answer.json() == []


def test_a_revoked_key_ends_its_tokens(server: LiveServer) -> None:
    account = new_account(server)
    _, token = account.login()
    assert httpx.head(account.url, headers={"X-Auth-Token": token}).status_code == 204
    server.admin("key", "revoke", account.access_key)
    assert httpx.head(account.url, headers={"X-Auth-Token": token}).status_code == 401


def test_another_account_is_forbidden(server: LiveServer) -> None:
    mine, theirs = new_account(server), new_account(server)
    _, token = mine.login()
    assert httpx.head(theirs.url, headers={"X-Auth-Token": token}).status_code == 403


def test_a_user_who_is_not_admin_does_not_own_the_account(server: LiveServer) -> None:
    owner = new_account(server)
    member = add_user(server, owner.tenant, "member", admin=False)
    _, token = member.login()
    answer = httpx.get(member.url, headers={"X-Auth-Token": token})
    assert answer.status_code == 403
    assert "Forbidden" in answer.text


def test_tokens_and_keys_are_never_logged(server: LiveServer) -> None:
    account = new_account(server)
    _, token = account.login()
    httpx.get(account.url + "/nosuch", params={"X-Auth-Token": token})
    log = server.log.read_text()
    assert token not in log
    assert account.secret not in log


def test_the_swift_cli_authenticates(server: LiveServer) -> None:
    import subprocess
    import sys

    account = new_account(server)
    swift = str(Path(sys.executable).parent / "swift")
    result = subprocess.run(
        [
            swift,
            "-A",
            account.auth_url,
            "-U",
            f"{account.tenant}:owner",
            "-K",
            account.secret,
            "stat",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"Account: AUTH_{account.tenant}" in result.stdout


def test_tokens_hold_on_every_worker_and_across_restarts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running(data, {"DOLIUM_WORKERS": "2"}) as live:
        account = new_account(live)
        _, token = account.login()
        # A new connection each time: the kernel spreads them over the workers.
        for _ in range(20):
            answer = httpx.head(account.url, headers={"X-Auth-Token": token})
            assert answer.status_code == 204
    assert (data / "swift-token-secret").stat().st_mode & 0o777 == 0o600
    with running(data) as live:
        account.server = live
        answer = httpx.head(account.url, headers={"X-Auth-Token": token})
        assert answer.status_code == 204
