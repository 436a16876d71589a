"""Settings shared by every test directory."""

from hypothesis import settings

# No per-example deadline: tests never assert on time, and a loaded machine
# (CI runs beside other work) would otherwise fail a correct example as slow.
settings.register_profile("dolium", deadline=None)
settings.load_profile("dolium")
