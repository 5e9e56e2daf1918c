"""`perfeval`: the command-line face (demo data, runs, validation; lineage commands in lineage/)."""

from __future__ import annotations

import argparse
import os
import sys
import time

from perfeval_pipeline.config import project_root, settings


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _select(args) -> list[tuple[str, int]]:
    cfg = settings()
    departments = args.department or sorted(cfg.departments)
    years = [int(y) for y in (args.year or cfg.years)]
    for d in departments:
        cfg.department(d)  # unknown → clear error naming departments.yaml
    unknown_years = [y for y in years if y not in cfg.years]
    if unknown_years:
        raise SystemExit(
            f"year(s) {unknown_years} not in assets_config/pipeline.yaml years {list(cfg.years)}"
        )
    return [(d, y) for d in departments for y in years]


def cmd_demo(args) -> int:
    from perfeval_pipeline.demo import generate_demo

    cfg = settings()
    started = time.perf_counter()
    written = generate_demo(
        cfg.landing_dir,
        departments=args.department,
        years=args.year,
        overwrite=args.overwrite,
        progress=_progress,
    )
    _progress(
        f"demo: {len(written)} files written under {cfg.landing_dir} in {time.perf_counter() - started:.1f}s"
    )
    return 0


def cmd_run(args) -> int:
    from perfeval_pipeline.orchestration.runner import run_partitions

    os.environ.setdefault("DAGSTER_HOME", str(project_root() / ".dagster_home"))
    selected = _select(args)
    started = time.perf_counter()
    ok = run_partitions(selected, progress=_progress)
    _progress(
        f"run: {len(selected)} partition(s) in {time.perf_counter() - started:.1f}s; "
        f"results under {settings().reports_dir}"
    )
    return 0 if ok else 1


def cmd_validate(args) -> int:
    """Ingest and check landing data without Dagster: a data engineer's first look at a new folder."""
    from perfeval_pipeline.feeds.contracts import load_contracts
    from perfeval_pipeline.quality.stage import ingest_feed

    all_ok = True
    for department, year in _select(args):
        for feed in load_contracts():
            q = ingest_feed(feed, department, year)
            s = q.summary()
            status = "ok" if q.passed else "BLOCKED"
            print(
                f"{department} {year} {feed:15s} {status:8s} read {s['rows_read']:>7} kept {s['rows_kept']:>7} "
                f"quarantined {s['rows_quarantined']:>5}"
            )
            for issue in s["structural_issues"]:
                print(f"    structural: {issue}")
            for table, ts in s["tables"].items():
                for o in ts["failed_expectations"]:
                    print(
                        f"    {table}: {o['reason']}: {o['rows_quarantined']} row(s), e.g. {', '.join(o['samples'][:2])}"
                    )
            all_ok &= q.passed
    return 0 if all_ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perfeval", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def selection(p):
        p.add_argument(
            "--department", "-d", action="append", help="department code (repeatable); default all"
        )
        p.add_argument("--year", "-y", action="append", type=int, help="year (repeatable); default all")

    p = sub.add_parser("demo", help="write the deterministic demo landing data")
    selection(p)
    p.add_argument("--overwrite", action="store_true", help="rewrite partitions that already exist")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="materialize every asset for the selected partitions (one Dagster run)")
    selection(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="ingest and check landing data, print what the checks found")
    selection(p)
    p.set_defaults(func=cmd_validate)

    from perfeval_pipeline.lineage.cli import register as register_lineage

    register_lineage(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyError as exc:  # unknown department etc.: the message says which file to fix
        print(f"perfeval: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `perfeval sql … | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
