"""The MetaStore contract, run against every installed meta store (see conftest)."""

from __future__ import annotations

from dolium.testing.meta_contract import (
    TestAccounts,
    TestBuckets,
    TestConcurrency,
    TestConditions,
    TestListObjects,
    TestListVersions,
    TestReferences,
    TestUploads,
    TestVersions,
)

__all__ = [
    "TestAccounts",
    "TestBuckets",
    "TestConcurrency",
    "TestConditions",
    "TestListObjects",
    "TestListVersions",
    "TestReferences",
    "TestUploads",
    "TestVersions",
]
