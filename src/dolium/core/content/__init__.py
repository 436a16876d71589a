"""Content: blocks, content hashing, checksums, encryption at rest, integrity checks."""
