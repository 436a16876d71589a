"""Who sent an S3 request: SigV4, SigV2, signed payloads, POST policies, request facts."""
