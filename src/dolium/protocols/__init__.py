"""Protocols between the core and the back ends, in domain types only."""

from dolium.protocols.blob import BlobStore
from dolium.protocols.keys import KeyStore
from dolium.protocols.meta import MetaStore

__all__ = ["BlobStore", "KeyStore", "MetaStore"]
