"""Benchmarks: speed and overhead goals measured as ratios against a baseline run side by
side in the same process (never as timed assertions in tests). Run with `make bench`."""
