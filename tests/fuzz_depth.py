"""How hard the schema fuzzers push (tests/test_contract.py, tests/test_contract_hostile.py).

They are the slowest part of the suite: every example is a request through the whole
app. `make test` runs a third of their random examples, on top of the coverage phase's
boundary cases, which always run in full; `FUZZ_DEPTH=deep` runs them all, and CI's
PostgreSQL pass (.ci/run) sets it. Examples are derandomized, so both depths are
repeatable, and the quick depth's examples are the first ones of the deep run's.
"""

from __future__ import annotations

import os

DEEP = os.environ.get("FUZZ_DEPTH", "").strip().lower() == "deep"


def examples(deep: int) -> int:
    """The number of random examples to run, out of `deep` at full depth."""
    return deep if DEEP else max(3, deep // 3)
