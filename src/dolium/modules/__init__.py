"""Modules: block stores that wrap other block stores (erasure coding, ...).

A module is a BlobStore over one or more BlobStores; a storage policy names
a stack of them over its base stores. Modules never see buckets, keys,
versions or permissions, and never import the core or the front ends.
"""
