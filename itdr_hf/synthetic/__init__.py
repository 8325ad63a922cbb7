"""Synthetic raw files in each source's real format, written by us (one module per source family).

They feed the bundled ``--demo`` sample, the tests (which corrupt copies to check error
messages) and the benchmarks (at full scale). Nothing in them is copied from the real datasets.
"""
