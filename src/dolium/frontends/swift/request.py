"""One Swift request as the handlers see it: who, which account, container, object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.requests import Request

from dolium.core.store import Store
from dolium.model import Principal, container_address

# Swift's reseller prefix: account "AUTH_acme" is tenant "acme".
ACCOUNT_PREFIX = "AUTH_"


@dataclass
class SwiftRequest:
    store: Store
    http: Request
    principal: Principal
    account: str  # the tenant
    container: str = ""
    obj: str = ""
    query: Mapping[str, str] = field(default_factory=dict)
    trans_id: str = ""
    # A temp URL signed with a container's key reaches that container only,
    # also through the segments of a large object: "" for no such limit.
    confined_to: str = ""

    @property
    def method(self) -> str:
        return self.http.method

    @property
    def address(self) -> str:
        """How the core names this request's container."""
        return container_address(self.account, self.container)

    @property
    def level(self) -> str:
        """ "account", "container" or "object": what the path names."""
        if not self.container:
            return "account"
        return "object" if self.obj else "container"

    @property
    def is_owner(self) -> bool:
        """Whether the caller owns the account (an admin user of its tenant)."""
        return self.principal.tenant == self.account and self.principal.admin

    def may_reach(self, container: str) -> bool:
        """Whether the request may touch another container of its account."""
        return not self.confined_to or container == self.confined_to

    def header(self, name: str, default: str = "") -> str:
        return self.http.headers.get(name, default)

    def flag(self, name: str) -> bool:
        """A true-ish header value, as Swift's `config_true_value` reads one."""
        return self.header(name).strip().lower() in ("true", "1", "yes", "on", "t", "y")
