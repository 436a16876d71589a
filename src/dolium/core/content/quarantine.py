"""What happens to a block whose bytes do not match its digest.

It is never served. It is logged, and moved aside where its store can
quarantine blocks (protocols.blob.QuarantineStore): from then on it counts
as absent, so the next write of the same content stores a sound copy again
(a writer puts every block it writes, and a store keeps what a name already
holds), and a dedup check (`has`) asks a client for it anew. The scrubber
does the same with the corrupt blocks it finds.
"""

from __future__ import annotations

import logging

from dolium.errors import CorruptBlock, StorageError
from dolium.protocols.blob import BlobStore, QuarantineStore

log = logging.getLogger("dolium.integrity")


async def set_aside(blobs: BlobStore, digest: bytes, found: bytes) -> bool:
    """Log the corrupt block and quarantine it if its store can; whether it was moved."""
    name = digest.hex()
    if not isinstance(blobs, QuarantineStore):
        log.error("block %s does not match its hash; its store cannot quarantine it", name)
        return False
    try:
        moved = await blobs.quarantine(digest, found)
    except StorageError as exc:
        log.error("block %s does not match its hash; cannot quarantine it: %s", name, exc)
        return False
    if moved:
        log.error("block %s does not match its hash: quarantined", name)
    else:
        log.warning("block %s did not match its hash; a sound copy has replaced it", name)
    return moved


async def corrupt(blobs: BlobStore, digest: bytes, found: bytes) -> CorruptBlock:
    """The error for a read of a corrupt block, once the block is set aside."""
    await set_aside(blobs, digest, found)
    return CorruptBlock(f"block {digest.hex()} does not match its hash", digest=digest.hex())
