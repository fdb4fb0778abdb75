"""Benchmarks for issue 7 (speed and scale): ``python -m benchmarks`` runs them all, prints
tables, writes JSON to ``benchmarks/results/`` and states the machine. See docs/performance.md.

Each benchmark is a function returning plain dicts, so tests/test_bench_smoke.py can run every
one of them at tiny sizes.
"""
