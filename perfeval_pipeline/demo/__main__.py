"""python -m perfeval_pipeline.demo [--landing DIR] [--department CODE ...] [--year YEAR ...] [--overwrite]"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from perfeval_pipeline.config import settings
from perfeval_pipeline.demo import generate_demo


def main() -> None:
    parser = argparse.ArgumentParser(description="Write deterministic demo landing data.")
    parser.add_argument("--landing", type=Path, default=None, help="landing folder (default: pipeline.yaml)")
    parser.add_argument("--department", action="append", help="department code (repeatable; default all)")
    parser.add_argument("--year", action="append", type=int, help="year (repeatable; default all)")
    parser.add_argument("--overwrite", action="store_true", help="rewrite partitions that already exist")
    args = parser.parse_args()
    started = time.perf_counter()
    files = generate_demo(
        args.landing or settings().landing_dir, args.department, args.year, args.overwrite, progress=print
    )
    print(f"{len(files)} files written in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
