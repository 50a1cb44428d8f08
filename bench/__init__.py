"""Benchmarks against a large PostgreSQL data set; never run by the test suite.

`python -m bench.dataset` builds the data set, `python -m bench.reports` times the
report endpoints and the expense list against it (see bench/README.md).
"""
