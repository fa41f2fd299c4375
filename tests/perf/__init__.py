"""Benchmarks (bench.py): a script, not collected as tests."""
