"""Benchmarks: `make bench` / `make bench-quick` (python -m benchmarks.run)."""
