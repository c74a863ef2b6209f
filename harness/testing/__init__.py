"""Tiny models and fixture writers for tests, benchmarks and dry runs."""
