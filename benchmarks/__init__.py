"""Benchmarks: `make bench` (python -m benchmarks). They print figures and ratios; no test asserts a time."""
