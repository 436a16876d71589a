"""Dolium: a self-hosted object storage server."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dolium")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"
