"""atheris target "sigv4" (see targets.py): python fuzz/fuzz_sigv4.py -max_total_time=60"""

from __future__ import annotations

import atheris

with atheris.instrument_imports():
    import targets

if __name__ == "__main__":
    targets.main("sigv4")
