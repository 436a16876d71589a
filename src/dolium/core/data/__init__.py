"""The data path: blocks, content hashing, checksums, encryption at rest, integrity checks."""
