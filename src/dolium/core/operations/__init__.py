"""What operators ask of a running server: its health, its figures, and the
administration of accounts, quotas and stores (for the admin API and metrics)."""
