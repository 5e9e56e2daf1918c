"""The plain-Python baseline of `make bench-province`: every partition of the configuration (the
PERFEVAL_* environment) through the same phases a Dagster run calls (batch/), without Dagster."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from perfeval_pipeline.batch.engine import Batch, BatchResult, statuses
from perfeval_pipeline.config.settings import load_settings


def cpu_by_step(result: BatchResult) -> dict[str, float]:
    """CPU seconds per step (costs.py) summed over every outcome of every phase, largest first."""
    total: Counter[str] = Counter()
    for phase in (result.ingest, result.score, result.render, result.refresh):
        for outcome in phase.values():
            total.update(outcome.cpu)
    return dict(total.most_common())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m perfeval_pipeline.bench.baseline", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--workers", type=int, default=0, help="worker processes (default: pipeline.yaml)")
    parser.add_argument("--costs", type=Path, help="write the CPU seconds per step (JSON) to this file")
    args = parser.parse_args(argv)
    settings = load_settings()
    with Batch(settings, settings.partitions, args.workers) as batch:
        result = batch.run()
    counts = statuses(result)
    print(" ".join(f"{k} {v}" for k, v in counts.items()), file=sys.stderr)
    if args.costs:
        args.costs.write_text(json.dumps(cpu_by_step(result), indent=1), encoding="utf-8")
    return 0 if counts["evaluated"] == len(settings.partitions) else 3


if __name__ == "__main__":
    raise SystemExit(main())
