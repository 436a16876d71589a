"""Key stores: find the credential behind an access key id.

Chosen by name (`[keys] use`, entry points of `dolium.keys`): `meta` keeps
keys with the accounts in the meta store; `file` and `http` keep them
outside it. A store's principal names the tenant, the user, the access key
and whether the user is an administrator; a store outside the meta store
leaves the rest (canonical id, display name, policies) to the server, which
reads them from the meta store's account (core.access.outside_keys).

A key store never creates accounts and never logs a secret.
"""

from __future__ import annotations

from typing import Protocol

from dolium.model import AccessKey, Principal


class KeyStore(Protocol):
    async def lookup(self, access_key: str) -> tuple[AccessKey, Principal] | None:
        """The active key and the principal it acts as, or None.

        None for an unknown and for a revoked key alike. A store that cannot
        tell (its service is down) raises `KeyStoreUnavailable`: never None,
        which a caller could read as "try the next store", and never a key.
        """

    async def close(self) -> None: ...
