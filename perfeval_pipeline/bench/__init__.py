"""Benchmarks (not tests): `make bench-province`."""
