"""What every module that wraps a single store shares: forwarding by default.

A subclass overrides the calls it changes (as s3proxy's middlewares do) and
leaves the others to forward. `verify` and `repair` (RedundantStore) exist
on a wrapper only when the store under it has them: the scrubber asks a
store for them by looking for them, and a wrapper that answered them over a
store without redundancy would claim checks nobody makes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Self, TypeVar, cast

from dolium.errors import ConfigError
from dolium.protocols.blob import BlobStore, BlockState, RedundantStore

W = TypeVar("W", bound="Wrapper")


def only_store(module: str, stores: Sequence[BlobStore]) -> BlobStore:
    """The one store a single-store module wraps; a ConfigError if it got more or none."""
    if len(stores) != 1:
        raise ConfigError(
            f"module {module!r} wraps exactly one store, not {len(stores)} "
            "(put it above the module that spreads blocks over several stores)"
        )
    return stores[0]


class Wrapper:
    """Forwards every call to `inner`; subclasses override what they change."""

    name = "wrapper"

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self._closed = False

    @classmethod
    def around(cls, inner: BlobStore, *args: Any, **kwargs: Any) -> Self:
        """An instance over `inner`, with `verify`/`repair` when `inner` has them."""
        klass = _redundant_variant(cls) if isinstance(inner, RedundantStore) else cls
        return klass(inner, *args, **kwargs)

    def inner_name(self, digest: bytes) -> bytes:
        """The name the block is stored under below (the digest, unless a module hides it)."""
        return digest

    async def put(self, digest: bytes, data: bytes) -> None:
        await self.inner.put(digest, data)

    async def get(self, digest: bytes) -> bytes:
        return await self.inner.get(digest)

    async def has(self, digest: bytes) -> bool:
        return await self.inner.has(digest)

    async def delete(self, digest: bytes) -> None:
        await self.inner.delete(digest)

    def list(self) -> AsyncIterator[bytes]:
        return self.inner.list()

    def own_capabilities(self) -> frozenset[str]:
        return frozenset()

    def capabilities(self) -> frozenset[str]:
        return self.own_capabilities() | self.inner.capabilities()

    async def own_statistics(self) -> Mapping[str, int | float]:
        return {}

    async def statistics(self) -> Mapping[str, int | float]:
        return {**await self.inner.statistics(), **await self.own_statistics()}

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.inner.close()


class _ForwardRedundancy:
    """verify/repair of the store under a wrapper, asked by the name it stores under."""

    async def verify(self, digest: bytes) -> BlockState:
        wrapper = cast(Wrapper, self)
        return await cast(RedundantStore, wrapper.inner).verify(wrapper.inner_name(digest))

    async def repair(self, digest: bytes) -> BlockState:
        wrapper = cast(Wrapper, self)
        return await cast(RedundantStore, wrapper.inner).repair(wrapper.inner_name(digest))


_VARIANTS: dict[type[Wrapper], type[Wrapper]] = {}


def _redundant_variant(cls: type[W]) -> type[W]:
    variant = _VARIANTS.get(cls)
    if variant is None:
        variant = type(cls.__name__, (_ForwardRedundancy, cls), {"__doc__": cls.__doc__})
        _VARIANTS[cls] = variant
    return cast(type[W], variant)
