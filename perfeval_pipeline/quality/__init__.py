"""Data quality: Great Expectations suites built from the feed contracts, validated set-wise over a
chunk of partitions; row quarantine with reasons; structural checks; the usable-or-blocked gate.

Plain functions over pandas frames; Great Expectations is imported lazily, once per process, on the
first validation (the import alone takes seconds)."""
