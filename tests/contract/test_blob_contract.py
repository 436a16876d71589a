"""The BlobStore contract, run against every installed "dolium.blob" back end."""

from dolium.testing.blob_contract import *  # noqa: F403
