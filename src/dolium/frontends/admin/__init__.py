"""The operators' front end: the JSON admin API under /admin, Prometheus
metrics at /metrics, and the health probes under /health."""
