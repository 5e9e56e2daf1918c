"""Data quality: Great Expectations suites built from the feed contracts, row quarantine with reasons,
and structural checks (identity columns must match the partition's folder).

Plain functions over pandas frames; Great Expectations is imported lazily, once per process, on the
first validation (the import alone takes several seconds).
"""

from perfeval_pipeline.quality.suites import Check, build_suite, contract_checks
from perfeval_pipeline.quality.validate import (
    ExpectationOutcome,
    FeedQuality,
    TableQuality,
    empty_raw_frame,
    source_ref,
    validate_feed,
    validate_table,
)

__all__ = [
    "Check",
    "ExpectationOutcome",
    "FeedQuality",
    "TableQuality",
    "build_suite",
    "contract_checks",
    "empty_raw_frame",
    "source_ref",
    "validate_feed",
    "validate_table",
]
