"""The plain-Python baseline of `make bench-province`: every partition of the configuration (the
PERFEVAL_* environment) through the same phases a Dagster run calls (batch/), without Dagster."""

from __future__ import annotations

import argparse
import sys

from perfeval_pipeline.batch.engine import Batch, statuses
from perfeval_pipeline.config.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m perfeval_pipeline.bench.baseline", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--workers", type=int, default=0, help="worker processes (default: pipeline.yaml)")
    args = parser.parse_args(argv)
    settings = load_settings()
    with Batch(settings, settings.partitions, args.workers) as batch:
        result = batch.run()
    counts = statuses(result)
    print(" ".join(f"{k} {v}" for k, v in counts.items()), file=sys.stderr)
    return 0 if counts["evaluated"] == len(settings.partitions) else 3


if __name__ == "__main__":
    raise SystemExit(main())
