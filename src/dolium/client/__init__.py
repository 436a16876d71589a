"""Clients of a Dolium server: they speak HTTP to it and import nothing of the server."""
