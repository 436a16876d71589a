"""Storage modules: block stores that wrap block stores and add one capability each.

A storage policy names a stack of modules over one or more base stores
(first listed = outermost); see docs/storage-policies.md. A module:

- is registered in the `dolium.module` entry-point group and chosen by name;
- is a class with an async classmethod `open(stores=..., **options)`,
  where `stores` (given by keyword) is the list of block stores it wraps
  (one for most modules; any number for `replicate` and `erasure`) and
  `options` are the keys of its table in the policy's `modules` list,
  checked against `open`'s signature;
- answers the whole BlobStore protocol: it stores each block under the
  digest the core gives and hands back exactly the bytes it was given (the
  core verifies every block it reads against its digest);
- answers `capabilities()` (its own plus those of what it wraps) and
  `statistics()` (`capacity_bytes`, `used_bytes`, `blocks`, then its own);
- closes the stores it wraps when it is closed;
- if it keeps redundancy (copies, shares), implements `RedundantStore`
  (`verify`, `repair`); every other module has both calls only when the
  store it wraps has them, and passes them through (see `base.Wrapper`).

Modules never see buckets, keys, versions or permissions, and never import
the core, the front ends, the composition root or the back ends.
"""
