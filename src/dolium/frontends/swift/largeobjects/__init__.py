"""Large objects: Static (SLO: a manifest listing its segments) and Dynamic
(DLO: every object under a prefix), read as one object by streaming their
segments one after the other."""
