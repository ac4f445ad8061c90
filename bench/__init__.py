"""Benchmarks (not tests): ``make bench`` runs :mod:`bench.pull_bench`; see BENCHMARKS.md."""
