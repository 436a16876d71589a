"""The one source of time in the core.

Every timestamp the core writes (versions, parts, uploads, buckets, keys,
leases, lifecycle and object-lock decisions) comes from a `Clock` it was
given: the composition root injects the wall clock, unit tests a clock they
drive. No module of the core reads the time in any other way; a unit test
checks it.
"""

from __future__ import annotations

from collections.abc import Callable

# POSIX seconds.
Clock = Callable[[], float]
