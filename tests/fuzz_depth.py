"""How hard the fuzzers and property tests push: every `max_examples` of 40 or more in
the suite is written as `examples(n)`, and the schema fuzzers
(tests/test_contract.py, tests/test_contract_hostile.py) count their random examples
with it too.

They are the slowest part of the suite. `make test` runs a third of their examples (at
least 3); the schema fuzzers' coverage phase (every boundary and type-violation case the
schema defines) always runs in full for writes. `FUZZ_DEPTH=deep` runs every example
and the coverage phase of reads too; CI (.ci/run) sets it for both its SQLite and its
PostgreSQL pass. Examples are derandomized where the test says so, so both depths repeat.
"""

from __future__ import annotations

import os

DEEP = os.environ.get("FUZZ_DEPTH", "").strip().lower() == "deep"


def examples(deep: int) -> int:
    """The number of examples to run, out of `deep` at full depth."""
    return deep if DEEP else max(3, deep // 3)
