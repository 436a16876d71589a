"""Handlers by family: account, container, object (data, copy), info."""
