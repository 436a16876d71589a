"""Background work: garbage collection of blocks, lifecycle rules."""
