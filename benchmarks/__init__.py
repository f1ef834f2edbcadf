"""Benchmarks: timings side by side with a reference in one run (``python -m benchmarks.bench_lstm``).

Targets live here, never in timed unit tests; compare ratios within one run.
"""
