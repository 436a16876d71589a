"""The audit log: every change as a leaf of an append-only Merkle tree."""
