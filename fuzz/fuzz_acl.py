"""atheris target "acl" (see targets.py): python fuzz/fuzz_acl.py -max_total_time=60"""

from __future__ import annotations

import atheris

with atheris.instrument_imports():
    import targets

if __name__ == "__main__":
    targets.main("acl")
