"""S3 operations, one module per family, each translating the wire to core calls."""
