"""An in-memory meta store, for tests of the core (see `store`)."""

from dolium.backends.meta_memory.store import MemoryMetaStore

__all__ = ["MemoryMetaStore"]
