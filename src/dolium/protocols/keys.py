"""Key stores: find the credential behind an access key id."""

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
